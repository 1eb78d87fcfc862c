import CroniumCore
import Foundation
import Hummingbird
import NIOCore

/// The optional body of `POST /events/{id}/run`: `{"input": <any JSON value>}`.
enum RunRequest {
    /// The largest input a run may be given, as JSON text (the same as the largest output, so
    /// one run's output can always be the next one's input).
    static let maxInputBytes = RuntimeController.maxOutputBytes

    /// The input as JSON text; nil for an empty body, `{}` or a `null` input.
    static func input(of request: Request) async throws -> String? {
        let buffer = try await request.body.collect(upTo: Request.maxJSONBytes)
        guard buffer.readableBytes > 0 else { return nil }
        let body: Any
        do {
            body = try JSONSerialization.jsonObject(with: Data(buffer.readableBytesView), options: [.fragmentsAllowed])
        } catch {
            throw Problem(.badRequest, "the body is not valid JSON; send {\"input\": <any JSON value>} or nothing")
        }
        guard let object = body as? [String: Any] else {
            throw Problem(.badRequest, "expected an object at the top level: {\"input\": <any JSON value>}")
        }
        try UnknownFields.refuse(object.keys.filter { $0 != "input" }.sorted())
        guard let input = object["input"], !(input is NSNull) else { return nil }
        let text = String(
            decoding: try JSONSerialization.data(withJSONObject: input, options: [.fragmentsAllowed, .withoutEscapingSlashes]),
            as: UTF8.self
        )
        guard text.utf8.count <= maxInputBytes else {
            throw Problem(
                .bodyTooLarge,
                "an input may be at most \(maxInputBytes >> 10) KiB of JSON (this one is \(text.utf8.count >> 10) KiB)"
            )
        }
        return text
    }
}

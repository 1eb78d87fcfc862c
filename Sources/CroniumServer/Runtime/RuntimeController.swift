import CroniumCore
import CroniumEngine
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// `/runtime/v1`: what a running script asks of Cronium through its helper library. Every route
/// serves the calling run only (``RuntimeAuthMiddleware`` found it).
struct RuntimeController {
    /// The largest output a run may set, as JSON text.
    static let maxOutputBytes = 256 << 10

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.get("input", use: input)
        group.post("output", use: output)
        group.post("condition", use: condition)
        group.get("context", use: runContext)
    }

    /// The run's input as it was given (JSON), or `null`.
    @Sendable func input(_ request: Request, context: AppRequestContext) async throws -> Response {
        Self.json(try context.requireSession().input ?? "null")
    }

    /// Any JSON value; the last one set is the run's output.
    @Sendable func output(_ request: Request, context: AppRequestContext) async throws -> HTTPResponse.Status {
        let session = try context.requireSession()
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: Self.maxOutputBytes)
        } catch is NIOTooManyBytesError {
            throw Problem(
                .contentTooLarge, .bodyTooLarge,
                "an output may be at most \(Self.maxOutputBytes >> 10) KiB of JSON; keep large results in a file or a variable and output where they are")
        }
        let data = Data(buffer.readableBytesView)
        guard !data.isEmpty, (try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])) != nil else {
            throw Problem(.badRequest, .badRequest, "the output must be a JSON value (an object, array, string, number, true, false or null)")
        }
        session.setOutput(String(decoding: data, as: UTF8.self))
        return .noContent
    }

    /// `true`, `false`, or `{"condition": true|false}`.
    @Sendable func condition(_ request: Request, context: AppRequestContext) async throws -> HTTPResponse.Status {
        let session = try context.requireSession()
        let data = Data(try await request.body.collect(upTo: 1024).readableBytesView)
        guard let verdict = (try? JSONDecoder().decode(Bool.self, from: data)) ?? (try? JSONDecoder().decode(Wrapped.self, from: data))?.condition else {
            throw Problem(.badRequest, .badRequest, "the condition must be true or false, sent as `true`, `false` or {\"condition\": true}")
        }
        session.setCondition(verdict)
        return .noContent
    }

    /// Which event and run this is.
    @Sendable func runContext(_ request: Request, context: AppRequestContext) async throws -> RunContext {
        let session = try context.requireSession()
        return RunContext(
            eventId: session.event.id, eventName: session.event.name, eventType: session.event.type, executionId: session.executionId,
            attempt: session.attempt, trigger: session.trigger, scheduledFor: session.scheduledFor)
    }

    struct RunContext: ResponseEncodable {
        let eventId: EventID
        let eventName: String
        let eventType: EventType
        let executionId: ExecutionID
        let attempt: Int
        let trigger: ExecutionTrigger
        let scheduledFor: Date?
    }

    private struct Wrapped: Decodable {
        let condition: Bool
    }

    static func json(_ text: String) -> Response {
        Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}

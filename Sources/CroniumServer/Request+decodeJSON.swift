import CroniumCore
import Foundation
import Hummingbird

extension Request {
    /// Largest JSON body accepted; events are small, scripts included.
    static let maxJSONBytes = 4 << 20

    /// Decodes the JSON body, keeping `DecodingError`s intact so ``ProblemMiddleware`` can name the
    /// field, and refuses fields `T` does not have: a misspelled field must not be dropped silently.
    /// `readOnly` names top-level fields a GET returns that a client may send back unchanged
    /// (`id`, `createdAt`…); they are accepted and ignored.
    func decodeJSON<T: Codable>(as type: T.Type, readOnly: Set<String> = []) async throws -> T {
        try await decodeJSONIfPresent(as: type, readOnly: readOnly) ?? JSONDecoder.cronium.decode(T.self, from: Data())
    }

    /// ``decodeJSON(as:readOnly:)`` for a body that may be left out: nil when it is empty.
    func decodeJSONIfPresent<T: Codable>(as type: T.Type, readOnly: Set<String> = []) async throws -> T? {
        let buffer = try await body.collect(upTo: Self.maxJSONBytes)
        let data = Data(buffer.readableBytesView)
        guard !data.isEmpty else { return nil }
        let value = try JSONDecoder.cronium.decode(T.self, from: data)
        try UnknownFields.refuse(try UnknownFields.find(in: data, decodedAs: value, readOnly: readOnly))
        return value
    }
}

/// The keys of a body that its decoded value does not carry back when encoded: fields the type
/// does not have. (Encoding leaves out nil values, so keys sent as `null` are not judged.)
enum UnknownFields {
    /// A 400 naming every unknown field, when there is one.
    static func refuse(_ unknown: [String]) throws {
        guard !unknown.isEmpty else { return }
        let list = unknown.map { "'\($0)'" }.joined(separator: ", ")
        throw Problem(
            .badRequest,
            "unknown field\(unknown.count == 1 ? "" : "s") \(list): check the spelling against the docs; nothing was changed"
        )
    }

    /// `readOnly` keys are accepted in the objects at the paths `holdsReadOnly` names (by
    /// default the top-level object only; an import's events are at `events[0]`, `[0]`, …).
    static func find(
        in body: Data,
        decodedAs value: some Encodable,
        readOnly: Set<String>,
        holdsReadOnly: (String) -> Bool = { $0.isEmpty }
    ) throws -> [String] {
        let sent = try JSONSerialization.jsonObject(with: body, options: [.fragmentsAllowed])
        let carried = try JSONSerialization.jsonObject(with: JSONEncoder().encode(value), options: [.fragmentsAllowed])
        var unknown: [String] = []
        walk(sent, carried, path: "", readOnly: readOnly, holdsReadOnly: holdsReadOnly, into: &unknown)
        return unknown
    }

    private static func walk(
        _ sent: Any,
        _ carried: Any,
        path: String,
        readOnly: Set<String>,
        holdsReadOnly: (String) -> Bool,
        into unknown: inout [String]
    ) {
        if let sent = sent as? [String: Any] {
            let carried = carried as? [String: Any] ?? [:]
            for key in sent.keys.sorted() where !(sent[key] is NSNull) {
                let keyPath = path.isEmpty ? key : "\(path).\(key)"
                if let value = carried[key] {
                    walk(sent[key] as Any, value, path: keyPath, readOnly: readOnly, holdsReadOnly: holdsReadOnly, into: &unknown)
                } else if !(readOnly.contains(key) && holdsReadOnly(path)) {
                    unknown.append(keyPath)
                }
            }
        } else if let sent = sent as? [Any], let carried = carried as? [Any], sent.count == carried.count {
            for (index, (element, value)) in zip(sent, carried).enumerated() {
                walk(element, value, path: "\(path)[\(index)]", readOnly: readOnly, holdsReadOnly: holdsReadOnly, into: &unknown)
            }
        }
    }
}

/// An import's body: an ``EventDocument`` or a bare array of events, each checked for unknown
/// fields (the read-only ones of a fetched event are accepted and ignored).
enum EventDocumentReader {
    /// An ``EventDocument``, or a bare array of events (what `GET /api/v1/events` returns: their
    /// read-only fields are ignored), each event and workflow checked for unknown fields.
    static func document(in data: Data, decoder: JSONDecoder) throws -> EventDocument {
        let isArray = data.first { ![0x20, 0x09, 0x0A, 0x0D].contains($0) } == UInt8(ascii: "[")
        let document: EventDocument
        let unknown: [String]
        let entryPath = #"^((events)?|workflows)\[[0-9]+\]$"#
        if isArray {
            let events = try decoder.decode([EventInput].self, from: data)
            document = EventDocument(events: events)
            unknown = try UnknownFields.find(in: data, decodedAs: events, readOnly: Event.readOnlyFields) {
                $0.range(of: entryPath, options: .regularExpression) != nil
            }
        } else {
            document = try decoder.decode(EventDocument.self, from: data)
            guard document.version == EventDocument.currentVersion else {
                throw Problem(
                    .badRequest,
                    "version \(document.version) is not a document version this server reads (it reads \(EventDocument.currentVersion))"
                )
            }
            unknown = try UnknownFields.find(in: data, decodedAs: document, readOnly: Event.readOnlyFields) {
                $0.range(of: entryPath, options: .regularExpression) != nil
            }
        }
        try UnknownFields.refuse(unknown)
        return document
    }
}

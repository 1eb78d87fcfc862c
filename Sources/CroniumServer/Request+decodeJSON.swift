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
    func decodeJSON<T: Codable>(as type: T.Type, context: AppRequestContext, readOnly: Set<String> = []) async throws -> T {
        let buffer = try await body.collect(upTo: Self.maxJSONBytes)
        let data = Data(buffer.readableBytesView)
        let value = try context.requestDecoder.decode(T.self, from: data)
        let unknown = try UnknownFields.find(in: data, decodedAs: value, readOnly: readOnly)
        guard unknown.isEmpty else {
            let list = unknown.map { "'\($0)'" }.joined(separator: ", ")
            throw Problem(.badRequest, .badRequest, "unknown field\(unknown.count == 1 ? "" : "s") \(list): check the spelling against the docs; nothing was changed")
        }
        return value
    }
}

/// The keys of a body that its decoded value does not carry back when encoded: fields the type
/// does not have. (Encoding leaves out nil values, so keys sent as `null` are not judged.)
enum UnknownFields {
    static func find(in body: Data, decodedAs value: some Encodable, readOnly: Set<String>) throws -> [String] {
        let sent = try JSONSerialization.jsonObject(with: body, options: [.fragmentsAllowed])
        let carried = try JSONSerialization.jsonObject(with: JSONEncoder().encode(value), options: [.fragmentsAllowed])
        var unknown: [String] = []
        walk(sent, carried, path: "", readOnly: readOnly, into: &unknown)
        return unknown
    }

    private static func walk(_ sent: Any, _ carried: Any, path: String, readOnly: Set<String>, into unknown: inout [String]) {
        if let sent = sent as? [String: Any] {
            let carried = carried as? [String: Any] ?? [:]
            for key in sent.keys.sorted() where !(sent[key] is NSNull) {
                let keyPath = path.isEmpty ? key : "\(path).\(key)"
                if let value = carried[key] {
                    walk(sent[key] as Any, value, path: keyPath, readOnly: readOnly, into: &unknown)
                } else if !(path.isEmpty && readOnly.contains(key)) {
                    unknown.append(keyPath)
                }
            }
        } else if let sent = sent as? [Any], let carried = carried as? [Any], sent.count == carried.count {
            for (index, (element, value)) in zip(sent, carried).enumerated() {
                walk(element, value, path: "\(path)[\(index)]", readOnly: readOnly, into: &unknown)
            }
        }
    }
}

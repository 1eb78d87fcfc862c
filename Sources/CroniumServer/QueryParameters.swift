import CroniumCore
import Hummingbird

/// A request's query parameters, read the same way on every route: a value a parameter cannot
/// take is a `400` that says what it takes, never silently replaced by the default.
struct QueryParameters {
    let request: Request

    init(_ request: Request) { self.request = request }

    private func raw(_ name: String) -> String? { request.uri.queryParameters.get(name) }

    /// An integer in `range` (the documented bounds), or `defaultValue` when the parameter is absent.
    func integer(_ name: String, default defaultValue: Int, in range: ClosedRange<Int>) throws -> Int {
        guard let raw = raw(name) else { return defaultValue }
        guard let value = Int(raw), range.contains(value) else {
            throw Problem(.badRequest, "?\(name)=\(raw): must be a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return value
    }

    /// A record's id, or nil when absent.
    func id<Record>(_ name: String, of record: Record.Type) throws -> Identifier<Record>? {
        guard let raw = raw(name) else { return nil }
        guard let id = Identifier<Record>(raw), id.rawValue > 0 else {
            throw Problem(.badRequest, "?\(name)=\(raw): must be an id (a positive whole number)")
        }
        return id
    }

    /// One of a fixed set of names, in any case, or nil when absent.
    func name<Value: CaseIterable & RawRepresentable<String>>(_ name: String, as type: Value.Type) throws -> Value? {
        guard let raw = raw(name) else { return nil }
        guard let value = Value.named(raw) else { throw Problem(.badRequest, "?\(name)=\(raw): must be one of \(Value.validNames)") }
        return value
    }

    /// `true` or `false`, or nil when absent.
    func flag(_ name: String) throws -> Bool? {
        guard let raw = raw(name) else { return nil }
        switch raw.lowercased() {
        case "true", "1", "yes": return true
        case "false", "0", "no": return false
        default: throw Problem(.badRequest, "?\(name)=\(raw): must be true or false")
        }
    }

    /// Any text, or nil when absent.
    func text(_ name: String) -> String? { raw(name) }
}

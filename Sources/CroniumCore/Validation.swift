/// One thing wrong with a request, named by the JSON field a person has to fix.
public struct FieldProblem: Codable, Sendable, Equatable, CustomStringConvertible {
    public var field: String
    public var message: String

    public init(field: String, message: String) {
        self.field = field
        self.message = message
    }

    public var description: String { "\(field): \(message)" }
}

/// Every problem found in one pass, so a client can fix them all at once instead of one per round trip.
public struct ValidationError: Error, Sendable, Equatable, CustomStringConvertible {
    public var problems: [FieldProblem]

    public init(_ problems: [FieldProblem]) { self.problems = problems }
    public init(field: String, message: String) { self.problems = [.init(field: field, message: message)] }

    public var description: String { problems.map(\.description).joined(separator: "; ") }

    /// Throws when `problems` is not empty.
    public static func check(_ problems: [FieldProblem]) throws(ValidationError) {
        if !problems.isEmpty { throw ValidationError(problems) }
    }
}

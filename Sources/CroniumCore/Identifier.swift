/// The id of one kind of record: an `EventID` cannot be passed where an `ExecutionID` is meant.
/// On the wire and in the database it is the bare number.
public struct Identifier<Record>: RawRepresentable, Hashable, Comparable, Sendable, Codable, ExpressibleByIntegerLiteral,
    LosslessStringConvertible
{
    public let rawValue: Int64

    public init(rawValue: Int64) { self.rawValue = rawValue }
    public init(_ rawValue: Int64) { self.rawValue = rawValue }
    public init(integerLiteral value: Int64) { rawValue = value }
    public init?(_ description: String) {
        guard let value = Int64(description) else { return nil }
        rawValue = value
    }

    public init(from decoder: any Decoder) throws { rawValue = try decoder.singleValueContainer().decode(Int64.self) }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }

    public var description: String { String(rawValue) }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
}

public typealias EventID = Identifier<Event>
public typealias ExecutionID = Identifier<Execution>
public typealias UserID = Identifier<User>
public typealias TokenID = Identifier<APIToken>

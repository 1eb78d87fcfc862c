/// Enums a client sends by name, in any case (`bash`, `Bash`, `BASH`), stored and returned in
/// their one spelling. An unknown name is rejected with the names that are valid, where the
/// standard decoding would only say it "cannot initialize" the type.
public protocol ClosedSetCodable: RawRepresentable<String>, CaseIterable, Codable {}

extension ClosedSetCodable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let name = try container.decode(String.self)
        guard let value = Self.named(name) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "'\(name)' is not one of \(Self.validNames)")
        }
        self = value
    }
}

/// Named cases, looked up the way clients send them (body fields, query parameters, CLI flags).
extension CaseIterable where Self: RawRepresentable, RawValue == String {
    /// The case called `name`, whatever its letters' case.
    public static func named(_ name: String) -> Self? {
        Self(rawValue: name) ?? allCases.first { $0.rawValue.lowercased() == name.lowercased() }
    }

    /// Every name, for messages: "BASH, PYTHON, NODEJS, HTTP_REQUEST".
    public static var validNames: String { allCases.map(\.rawValue).joined(separator: ", ") }
}

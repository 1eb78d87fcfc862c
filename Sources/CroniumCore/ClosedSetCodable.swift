/// Enums a client sends by name. An unknown name is rejected with the names that are valid,
/// where the standard decoding would only say it "cannot initialize" the type.
public protocol ClosedSetCodable: RawRepresentable<String>, CaseIterable, Codable {}

extension ClosedSetCodable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let name = try container.decode(String.self)
        guard let value = Self(rawValue: name) else {
            let valid = Self.allCases.map(\.rawValue).joined(separator: ", ")
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "'\(name)' is not one of \(valid)")
        }
        self = value
    }
}

import Foundation

/// One of a user's variables: a named value shared by all of that user's runs (their helpers
/// read and write it; events map it into their environment). A secret's value is encrypted at
/// rest, masked in logs, and left out of lists.
public struct Variable: Codable, Sendable, Equatable {
    public var key: String
    /// Absent for a secret unless it was asked for explicitly.
    public var value: String?
    public var secret: Bool
    public var description: String?
    public var createdAt: Date
    public var updatedAt: Date

    public init(key: String, value: String?, secret: Bool, description: String?, createdAt: Date, updatedAt: Date) {
        self.key = key
        self.value = value
        self.secret = secret
        self.description = description
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

/// What a caller sends to create or change a variable; absent fields keep what is stored.
public struct VariableInput: Codable, Sendable, Equatable {
    public var key: String?
    public var value: String?
    public var secret: Bool?
    public var description: String?

    public init(key: String? = nil, value: String? = nil, secret: Bool? = nil, description: String? = nil) {
        self.key = key
        self.value = value
        self.secret = secret
        self.description = description
    }
}

/// The rules every variable follows, wherever it is set.
public enum VariableRules {
    public static let maxKeyLength = 100
    /// A value's size in UTF-8 bytes: room for a key file or a certificate chain.
    public static let maxValueBytes = 64 << 10
    public static let maxDescriptionLength = 500
    /// Cronium's own environment variables start with it (`CRONIUM_EXECUTION_ID`…).
    public static let reservedPrefix = "CRONIUM_"

    /// Why `key` cannot name a variable, or nil.
    public static func problem(key: String) -> String? {
        if key.isEmpty { return "a key is required" }
        if key.count > maxKeyLength { return "a key has at most \(maxKeyLength) characters" }
        guard key.range(of: "^[A-Z_][A-Z0-9_]*$", options: .regularExpression) != nil else {
            return "'\(key)' is not a key: use capital letters, digits and _, not starting with a digit (like DB_PASSWORD)"
        }
        if key.hasPrefix(reservedPrefix) { return "keys starting with \(reservedPrefix) are Cronium's own" }
        return nil
    }

    /// Why `value` cannot be a variable's value, or nil.
    public static func problem(value: String) -> String? {
        value.utf8.count > maxValueBytes ? "a value has at most \(maxValueBytes >> 10) KiB (this one has \(value.utf8.count) bytes)" : nil
    }
}

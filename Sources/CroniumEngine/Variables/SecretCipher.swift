import CroniumCore
import Crypto
import Foundation

/// Encrypts secrets' values at rest with AES-256-GCM under the master key. A stored value names
/// the key that sealed it (`v1:<key id>:<nonce, cipher text and tag, base64>`), so values sealed
/// under an older key stay readable while a rotation moves them to a new one.
public struct SecretCipher: Sendable {
    /// Seals new values.
    public let current: SymmetricKey
    /// Every key values may be sealed with, by id (the current one included).
    private let keys: [String: SymmetricKey]

    public init(current: SymmetricKey, older: [SymmetricKey] = []) {
        self.current = current
        keys = Dictionary(([current] + older).map { (Self.id(of: $0), $0) }, uniquingKeysWith: { first, _ in first })
    }

    /// A cipher with a key of its own that nothing keeps: for engines whose secrets need not
    /// outlive them (tests, benchmarks).
    public static func withNewKey() -> SecretCipher { SecretCipher(current: SymmetricKey(size: .bits256)) }

    /// A short, public name for a key: the first 8 hex digits of its SHA-256.
    public static func id(of key: SymmetricKey) -> String {
        key.withUnsafeBytes { SHA256.hash(data: Data($0)) }.prefix(4).map { String(format: "%02x", $0) }.joined()
    }

    public func seal(_ value: String) throws -> String {
        let box = try AES.GCM.seal(Data(value.utf8), using: current)
        guard let combined = box.combined else { throw CroniumError(.internalError, "a secret could not be encrypted") }
        return "v1:\(Self.id(of: current)):\(combined.base64EncodedString())"
    }

    public func open(_ stored: String) throws -> String {
        let parts = stored.split(separator: ":", maxSplits: 2).map(String.init)
        guard parts.count == 3, parts[0] == "v1", let data = Data(base64Encoded: parts[2]) else {
            throw CroniumError(.internalError, "a stored secret is damaged")
        }
        guard let key = keys[parts[1]] else {
            throw CroniumError(
                .internalError,
                "a secret was encrypted with another master key (\(parts[1])) than this server's; start it with that key"
            )
        }
        return String(decoding: try AES.GCM.open(try AES.GCM.SealedBox(combined: data), using: key), as: UTF8.self)
    }

    /// Whether `stored` was sealed with the current key.
    public func isCurrent(_ stored: String) -> Bool { stored.hasPrefix("v1:\(Self.id(of: current)):") }
}

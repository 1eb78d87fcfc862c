import Crypto
import Foundation
import HummingbirdBcrypt

/// Generation and hashing of the secrets the server hands out. Tokens are random and long, so a
/// fast SHA-256 is enough to store them; passwords are chosen by people, so they get bcrypt.
public enum Secrets {
    public static let tokenPrefix = "crn_"

    /// A new API token or session id (or, with another prefix, a webhook's key or signing
    /// secret): 32 random bytes, URL-safe.
    static func newToken(prefix: String = tokenPrefix) -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let encoded = Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
        return prefix + encoded
    }

    /// A password for the first admin: readable, 20 characters from an unambiguous alphabet.
    static func newPassword() -> String {
        let alphabet = Array("abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789")
        var generator = SystemRandomNumberGenerator()
        return String((0..<20).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &generator)] })
    }

    static func hashToken(_ token: String) -> String {
        SHA256.hash(data: Data(token.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    static func hashPassword(_ password: String, cost: UInt8) -> String { Bcrypt.hash(password, cost: cost) }

    static func verifyPassword(_ password: String, hash: String) -> Bool { Bcrypt.verify(password, hash: hash) }
}

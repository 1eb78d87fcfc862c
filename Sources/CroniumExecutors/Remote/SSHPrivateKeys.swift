import Crypto
import Foundation
import NIOSSH

/// Private keys as users hold them: the OpenSSH format `ssh-keygen` writes (Ed25519 and ECDSA,
/// with or without a passphrase), and ECDSA keys in PEM. Cronium's SSH client signs with these
/// types only; an RSA key gets an error that says what to do instead.
public enum SSHPrivateKeys {
    static let unsupportedRSA = SSHError(
        .badPrivateKey,
        "RSA keys are not supported: make an Ed25519 key (ssh-keygen -t ed25519) and add its public key to the host's authorized_keys"
    )

    /// The key in `text`; `passphrase` opens an encrypted one.
    public static func parse(_ text: String, passphrase: String? = nil) throws(SSHError) -> NIOSSHPrivateKey {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.contains("BEGIN OPENSSH PRIVATE KEY") { return try openSSH(trimmed, passphrase: passphrase) }
        if trimmed.contains("BEGIN RSA PRIVATE KEY") { throw unsupportedRSA }
        if trimmed.contains("ENCRYPTED PRIVATE KEY") || trimmed.contains("Proc-Type: 4,ENCRYPTED") {
            throw SSHError(.badPrivateKey, "encrypted PEM keys are not supported: convert the key to OpenSSH's format (ssh-keygen -p -f KEYFILE)")
        }
        if trimmed.contains("PRIVATE KEY-----") {
            if let key = try? P256.Signing.PrivateKey(pemRepresentation: trimmed) { return NIOSSHPrivateKey(p256Key: key) }
            if let key = try? P384.Signing.PrivateKey(pemRepresentation: trimmed) { return NIOSSHPrivateKey(p384Key: key) }
            if let key = try? P521.Signing.PrivateKey(pemRepresentation: trimmed) { return NIOSSHPrivateKey(p521Key: key) }
            throw SSHError(
                .badPrivateKey,
                "the PEM private key is not an ECDSA key Cronium can use: give an Ed25519 or ECDSA key in OpenSSH's format"
            )
        }
        throw SSHError(.badPrivateKey, "this is not a private key: give the whole file, from -----BEGIN OPENSSH PRIVATE KEY----- to its END line")
    }

    /// The `openssh-key-v1` format (PROTOCOL.key in OpenSSH's sources).
    static func openSSH(_ text: String, passphrase: String?) throws(SSHError) -> NIOSSHPrivateKey {
        let body = text.split(whereSeparator: \.isNewline).filter { !$0.hasPrefix("-----") }.joined()
        guard let data = Data(base64Encoded: body) else { throw SSHError(.badPrivateKey, "the private key's base64 body is damaged") }
        var reader = SSHWireReader(data)
        let magic = Array("openssh-key-v1\0".utf8)
        guard reader.bytes(magic.count) == magic, let cipher = reader.string(), let kdf = reader.string(), let kdfOptions = reader.bytes(),
            reader.uint32() == 1, reader.bytes() != nil, var secret = reader.bytes()
        else { throw SSHError(.badPrivateKey, "the private key is damaged (it is not openssh-key-v1 with one key)") }
        if cipher != "none" {
            guard let passphrase, !passphrase.isEmpty else {
                throw SSHError(.badPrivateKey, "the private key is protected by a passphrase: give it too (--passphrase-file)")
            }
            secret = try OpenSSHKeyCipher.decrypt(secret, cipher: cipher, kdf: kdf, kdfOptions: kdfOptions, passphrase: passphrase)
        }
        var inner = SSHWireReader(secret)
        guard let check1 = inner.uint32(), let check2 = inner.uint32() else { throw SSHError(.badPrivateKey, "the private key is damaged") }
        guard check1 == check2 else { throw SSHError(.badPrivateKey, "the passphrase does not open the private key") }
        guard let type = inner.string() else { throw SSHError(.badPrivateKey, "the private key is damaged") }
        switch type {
        case "ssh-ed25519":
            guard inner.bytes()?.count == 32, let pair = inner.bytes(), pair.count == 64,
                let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: pair.prefix(32))
            else { throw SSHError(.badPrivateKey, "the Ed25519 private key is damaged") }
            return NIOSSHPrivateKey(ed25519Key: key)
        case "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521":
            guard inner.string() != nil, inner.bytes() != nil, let scalar = inner.bytes() else {
                throw SSHError(.badPrivateKey, "the ECDSA private key is damaged")
            }
            let size = type.hasSuffix("256") ? 32 : type.hasSuffix("384") ? 48 : 66
            let raw = Array(repeating: 0, count: max(0, size - scalar.drop { $0 == 0 }.count)) + scalar.drop { $0 == 0 }
            do {
                switch size {
                case 32: return NIOSSHPrivateKey(p256Key: try P256.Signing.PrivateKey(rawRepresentation: raw))
                case 48: return NIOSSHPrivateKey(p384Key: try P384.Signing.PrivateKey(rawRepresentation: raw))
                default: return NIOSSHPrivateKey(p521Key: try P521.Signing.PrivateKey(rawRepresentation: raw))
                }
            } catch {
                throw SSHError(.badPrivateKey, "the ECDSA private key is damaged")
            }
        case "ssh-rsa":
            throw unsupportedRSA
        default:
            throw SSHError(.badPrivateKey, "keys of type \(type) are not supported: use an Ed25519 key (ssh-keygen -t ed25519)")
        }
    }

    /// The public half as an OpenSSH line (`ssh-ed25519 AAAA…`), for the host's authorized_keys.
    public static func publicLine(of key: NIOSSHPrivateKey) -> String {
        String(openSSHPublicKey: key.publicKey)
    }
}

/// Reads SSH's wire encoding: big-endian uint32 and length-prefixed strings.
struct SSHWireReader {
    private let data: [UInt8]
    private var offset = 0

    init(_ data: some Sequence<UInt8>) { self.data = Array(data) }

    mutating func uint32() -> UInt32? {
        guard let bytes = bytes(4) else { return nil }
        return bytes.reduce(0) { $0 << 8 | UInt32($1) }
    }

    mutating func bytes(_ count: Int) -> [UInt8]? {
        guard count >= 0, data.count - offset >= count else { return nil }
        defer { offset += count }
        return Array(data[offset..<offset + count])
    }

    /// A length-prefixed string of bytes.
    mutating func bytes() -> [UInt8]? {
        guard let length = uint32() else { return nil }
        return bytes(Int(length))
    }

    mutating func string() -> String? {
        bytes().flatMap { String(bytes: $0, encoding: .utf8) }
    }
}

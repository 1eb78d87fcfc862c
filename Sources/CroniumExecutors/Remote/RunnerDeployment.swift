import CroniumRunnerKit
import Crypto
import Foundation
import NIOCore

/// Puts `cronium-runner` on a host, once per build of it: under
/// `~/.cache/cronium/runner/<checksum>/`, uploaded over the logged-in session, its checksum
/// verified there before it is used, and the key that signs this server's payloads beside it.
/// A host whose runner differs (another build, a damaged file) gets this one.
public struct RunnerDeployment: Sendable {
    /// The runner's bytes, as built beside the server.
    public let binary: [UInt8]
    /// Hex SHA-256 of ``binary``.
    public let checksum: String
    /// Signs payloads; its public half is what runners trust.
    public let signingKey: Curve25519.Signing.PrivateKey

    public init(binary: [UInt8], signingKey: Curve25519.Signing.PrivateKey) {
        self.binary = binary
        self.checksum = RunnerPayload.hex(SHA256.hash(data: binary))
        self.signingKey = signingKey
    }

    /// The runner at `binaryPath` and the signing key in `keyFile` (made, readable by this user
    /// only, if there is none yet).
    public static func load(binaryPath: String, keyFile: String) throws -> RunnerDeployment {
        guard let binary = FileManager.default.contents(atPath: binaryPath) else {
            throw SSHError(
                .refused,
                "cronium-runner is not at \(binaryPath): build it with `swift build -c release --product cronium-runner` (or give its path)"
            )
        }
        let key: Curve25519.Signing.PrivateKey
        if let stored = FileManager.default.contents(atPath: keyFile) {
            key = try Curve25519.Signing.PrivateKey(rawRepresentation: stored)
        } else {
            key = Curve25519.Signing.PrivateKey()
            guard FileManager.default.createFile(atPath: keyFile, contents: key.rawRepresentation, attributes: [.posixPermissions: 0o600]) else {
                throw SSHError(.refused, "cannot write the payload signing key \(keyFile)")
            }
        }
        return RunnerDeployment(binary: Array(binary), signingKey: key)
    }

    /// The runner's directory on the host (the login shell expands `$HOME`).
    public var directory: String { "\"$HOME\"/.cache/cronium/runner/\(checksum.prefix(16))" }
    public var runnerPath: String { "\(directory)/cronium-runner" }
    /// The trusted key's file: named by the key, so servers with different keys can share a host.
    public var trustedKeyPath: String {
        "\(directory)/trusted-\(RunnerPayload.hex(SHA256.hash(data: signingKey.publicKey.rawRepresentation)).prefix(16)).pub"
    }
    /// The command that runs one payload.
    public var runCommand: String { "\(runnerPath) run \(trustedKeyPath)" }

    /// Makes sure this runner and key are on the host; says whether it had to upload, and the
    /// runner's `version` line there.
    public func ensure(on connection: SSHConnection) async throws -> (version: String, uploaded: Bool) {
        let key = signingKey.publicKey.rawRepresentation.base64EncodedString()
        let probe = try await connection.run("sha256sum \(runnerPath) 2>/dev/null | cut -c1-64; cat \(trustedKeyPath) 2>/dev/null")
        let lines = probe.stdout.split(separator: "\n").map(String.init)
        var uploaded = false
        if lines.first != checksum {
            // Under a name of this session's own, moved into place only when whole: hosts that
            // share a home directory (NFS) may be sent the runner at the same time.
            let upload = try await connection.run(
                """
                umask 077 && mkdir -p \(directory) && t=\(runnerPath).upload.$$ && cat > "$t" && chmod 700 "$t" && s=$(sha256sum "$t" | cut -c1-64) \
                && if [ "$s" = \(checksum) ]; then mv -f "$t" \(runnerPath); else rm -f "$t"; fi; echo "$s"
                """,
                input: ByteBuffer(bytes: binary)
            )
            let received = upload.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            guard upload.succeeded, received == checksum else {
                throw SSHError(
                    .refused,
                    "cronium-runner did not arrive whole on \(connection.target.label) (checksum \(received.isEmpty ? "none" : String(received.prefix(16))) instead of \(checksum.prefix(16))): \(upload.stderr.trimmingCharacters(in: .whitespacesAndNewlines))"
                )
            }
            uploaded = true
        }
        if uploaded || lines.dropFirst().first != key {
            let written = try await connection.run(
                "umask 077 && mkdir -p \(directory) && printf '%s\\n' '\(key)' > \(trustedKeyPath).$$ && mv -f \(trustedKeyPath).$$ \(trustedKeyPath)"
            )
            guard written.succeeded else {
                throw SSHError(.refused, "cannot install the payload key on \(connection.target.label): \(written.stderr)")
            }
        }
        let version = try await connection.run("\(runnerPath) version")
        guard version.succeeded else {
            throw SSHError(
                .refused,
                "cronium-runner does not start on \(connection.target.label) (status \(version.status.map(String.init) ?? version.signal ?? "?")): \(version.stderr.trimmingCharacters(in: .whitespacesAndNewlines))"
            )
        }
        return (version.stdout.trimmingCharacters(in: .whitespacesAndNewlines), uploaded)
    }
}

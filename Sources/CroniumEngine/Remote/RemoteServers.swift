import CroniumCore
import CroniumExecutors
import CroniumStore
import Foundation
import NIOSSH
import Synchronization

/// The servers' credentials and connections: opens a server's sealed credential into an
/// ``SSHTarget`` and hands out its pooled connection, recording a host key that changed.
public final class RemoteServers: Sendable {
    let store: any Store
    let cipher: SecretCipher
    public let pool: SSHPool
    /// Where `cronium-runner` and the payload signing key are; nil when this engine runs
    /// nothing remotely (tests of other things).
    let runnerFiles: RunnerFiles?
    /// Parsed private keys by sealed credential: a passphrase's key stretching takes a while.
    private let keys = Mutex<[String: NIOSSHPrivateKey]>([:])
    private let loadedRunner = Mutex<RunnerDeployment?>(nil)

    /// The runner binary to deploy and the file of the key that signs payloads.
    public struct RunnerFiles: Sendable {
        public var binary: String
        public var signingKey: String

        public init(binary: String, signingKey: String) {
            self.binary = binary
            self.signingKey = signingKey
        }
    }

    public init(store: any Store, cipher: SecretCipher, pool: SSHPool, runnerFiles: RunnerFiles? = nil) {
        self.store = store
        self.cipher = cipher
        self.pool = pool
        self.runnerFiles = runnerFiles
    }

    /// The runner this server deploys, read on first use (a server that never runs remotely
    /// needs none built).
    public func runner() throws -> RunnerDeployment {
        try loadedRunner.withLock { loaded in
            if let loaded { return loaded }
            guard let runnerFiles else { throw CroniumError(.remoteFailed, "this server was started without cronium-runner") }
            do {
                let deployment = try RunnerDeployment.load(binaryPath: runnerFiles.binary, keyFile: runnerFiles.signingKey)
                loaded = deployment
                return deployment
            } catch let error as SSHError {
                throw CroniumError(.remoteFailed, error.description)
            }
        }
    }

    /// What is sealed in a server's `credential` column.
    struct Credential: Codable {
        var privateKey: String?
        var passphrase: String?
        var password: String?
    }

    func seal(_ credential: Credential) throws -> String {
        try cipher.seal(String(decoding: try JSONEncoder().encode(credential), as: UTF8.self))
    }

    func open(_ sealed: String) throws -> Credential {
        try JSONDecoder().decode(Credential.self, from: Data(try cipher.open(sealed).utf8))
    }

    /// Where and how to log in on `stored`.
    public func target(_ stored: StoredServer) throws -> SSHTarget {
        let server = stored.server
        let credential = try open(stored.sealedCredential)
        let login: SSHCredential
        if let password = credential.password {
            login = .password(password)
        } else if let known = keys.withLock({ $0[stored.sealedCredential] }) {
            login = .privateKey(known)
        } else {
            do {
                let key = try SSHPrivateKeys.parse(credential.privateKey ?? "", passphrase: credential.passphrase)
                keys.withLock { $0[stored.sealedCredential] = key }
                login = .privateKey(key)
            } catch {
                throw CroniumError(.remoteFailed, "server \(server.name): \(error.description)")
            }
        }
        return SSHTarget(
            host: server.host,
            port: server.port,
            username: server.username,
            credential: login,
            pinnedHostKeys: server.hostKeys.map(\.key)
        )
    }

    /// The server's pooled connection. A changed host key is recorded on the server before the
    /// error is thrown, so its owner sees it there.
    public func connection(_ stored: StoredServer) async throws -> SSHConnection {
        let target = try target(stored)
        do {
            return try await sshConnection(stored, target: target)
        } catch {
            throw Self.croniumError(error, server: stored.server.name)
        }
    }

    /// The pooled connection, or the SSH error as it came (a changed host key recorded first).
    func sshConnection(_ stored: StoredServer, target: SSHTarget) async throws(SSHError) -> SSHConnection {
        do {
            return try await pool.connection(for: stored.server.id.rawValue, target: target)
        } catch {
            if error.code == .hostKeyChanged, let offered = error.offeredHostKey.flatMap(Self.pinned) {
                try? await store.setHostKeyMismatch(serverId: stored.server.id, HostKeyMismatch(offered: offered, seenAt: Date()))
            }
            throw error
        }
    }

    /// The servers `event` runs on, of its owner: the ones it names, in its order, then the
    /// others with its tag, by name. A named server that is gone fails the run, naming it.
    func servers(for event: Event) async throws -> [StoredServer] {
        let owned = try await store.servers(ownerId: event.ownerId)
        let byName = Dictionary(owned.map { ($0.server.name, $0) }, uniquingKeysWith: { first, _ in first })
        let names = event.servers ?? []
        let missing = names.filter { byName[$0] == nil }
        guard missing.isEmpty else {
            throw CroniumError(
                .notFound,
                "the event names \(missing.count == 1 ? "a server" : "servers") its owner does not have: \(missing.joined(separator: ", ")); add \(missing.count == 1 ? "it" : "them") with `cronium server add` or change the event's servers"
            )
        }
        var chosen = names.compactMap { byName[$0] }
        if let tag = event.serverTag {
            chosen += owned.filter { $0.server.tags.contains(tag) && !names.contains($0.server.name) }.sorted { $0.server.name < $1.server.name }
        }
        return chosen
    }

    /// The key a host offers, without logging in.
    public static func scan(host: String, port: Int, timeout: Duration = .seconds(10)) async throws -> PinnedHostKey {
        let probe = SSHTarget(host: host, port: port, username: "cronium-scan", credential: .password(""), pinnedHostKeys: [])
        do {
            let connection = try await SSHConnection.connect(to: probe, timeout: timeout)
            await connection.close()
        } catch {
            if error.code == .hostKeyNotPinned, let offered = error.offeredHostKey.flatMap(pinned) { return offered }
            throw croniumError(error, server: "\(host):\(port)")
        }
        throw CroniumError(.remoteFailed, "\(host):\(port) did not offer a host key")
    }

    static func pinned(_ line: String) -> PinnedHostKey? {
        guard let key = HostKeys.normalised(line), let fingerprint = HostKeys.fingerprint(of: key) else { return nil }
        return PinnedHostKey(type: HostKeys.type(of: key), fingerprint: fingerprint, key: key)
    }

    static func croniumError(_ error: SSHError, server: String) -> CroniumError {
        switch error.code {
        case .hostKeyChanged: CroniumError(.hostKeyChanged, "server \(server): \(error.description)")
        default: CroniumError(.remoteFailed, "server \(server): \(error.description)")
        }
    }
}

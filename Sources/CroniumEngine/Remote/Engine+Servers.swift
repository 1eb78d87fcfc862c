import CroniumCore
import CroniumExecutors
import CroniumStore
import Foundation

/// A user's remote servers: what the API and the CLI call. Every server belongs to one user;
/// nobody else (not an admin either) sees it or runs on it.
extension Engine {
    public func servers(of user: User) async throws -> [RemoteServer] {
        var servers: [RemoteServer] = []
        for stored in try await store.servers(ownerId: user.id) { servers.append(await withConnectionState(stored.server)) }
        return servers
    }

    public func server(named name: String, of user: User) async throws -> RemoteServer {
        await withConnectionState(try await storedServer(named: name, of: user).server)
    }

    /// The key `host` offers on `port`, for its owner to compare before pinning it.
    public func scanHostKey(host: String, port: Int) async throws -> HostKeyScan {
        try ValidationError.check(RemoteServerRules.problems(name: "scan", host: host, port: port, username: "scan", tags: []))
        return HostKeyScan(host: host, port: port, hostKey: try await RemoteServers.scan(host: host, port: port))
    }

    /// Adds a server. Its host key must be pinned at once: `acceptHostKey` (the fingerprint the
    /// owner compared; the host is asked for its key) or `knownHosts` (the keys listed there).
    public func addServer(_ input: RemoteServerInput, by user: User) async throws -> RemoteServer {
        guard user.canCreate else { throw CroniumError.forbidden }
        let now = Date()
        let empty = RemoteServer(
            id: 0,
            name: input.name ?? "",
            host: input.host ?? "",
            port: 22,
            username: input.username ?? "",
            auth: .privateKey,
            publicKey: nil,
            tags: [],
            hostKeys: [],
            hostKeyMismatch: nil,
            createdAt: now,
            updatedAt: now
        )
        var problems: [FieldProblem] = []
        if input.name == nil { problems.append(.init(field: "name", message: "is required")) }
        if input.host == nil { problems.append(.init(field: "host", message: "is required")) }
        if input.username == nil { problems.append(.init(field: "username", message: "is required")) }
        if input.privateKey == nil && input.password == nil {
            problems.append(.init(field: "privateKey", message: "a private key or a password is required"))
        }
        if input.acceptHostKey == nil && input.knownHosts == nil {
            problems.append(
                .init(
                    field: "acceptHostKey",
                    message:
                        "the host key must be pinned: send the fingerprint you compared (scan it with POST /api/v1/servers/scan) or a knownHosts file"
                )
            )
        }
        let (server, sealed) = try await revised(empty, sealed: nil, input, problems: problems)
        return try await store.saveServer(StoredServer(server: server, ownerId: user.id, sealedCredential: sealed))
    }

    /// Changes a server; absent fields keep what is stored. `acceptHostKey` or `knownHosts` pins
    /// anew (and clears a recorded host key change).
    public func updateServer(named name: String, _ input: RemoteServerInput, by user: User) async throws -> RemoteServer {
        guard user.canCreate else { throw CroniumError.forbidden }
        let stored = try await storedServer(named: name, of: user)
        if let newName = input.name, newName != name { try await refuseIfNamed(name, by: user, doing: "renamed") }
        var (server, sealed) = try await revised(stored.server, sealed: stored.sealedCredential, input, problems: [])
        server.updatedAt = Date()
        let saved = try await store.saveServer(StoredServer(server: server, ownerId: user.id, sealedCredential: sealed))
        await remote.pool.forget(saved.id.rawValue)
        return saved
    }

    public func deleteServer(named name: String, by user: User) async throws {
        guard user.canCreate else { throw CroniumError.forbidden }
        let stored = try await storedServer(named: name, of: user)
        try await refuseIfNamed(name, by: user, doing: "removed")
        guard try await store.deleteServer(ownerId: user.id, name: name) else { throw Self.noServer(name) }
        await remote.pool.forget(stored.server.id.rawValue)
    }

    /// A server that events name keeps its name: their runs would fail without it.
    private func refuseIfNamed(_ name: String, by user: User, doing what: String) async throws {
        let naming = try await store.events(ownerOrShared: user.id).filter { $0.ownerId == user.id && $0.servers?.contains(name) == true }
        guard !naming.isEmpty else { return }
        let list = naming.map { "\($0.id) '\($0.name)'" }.joined(separator: ", ")
        throw CroniumError(
            .conflict,
            "server \(name) cannot be \(what): \(naming.count == 1 ? "event" : "events") \(list) run on it; change their servers first (`cronium event update ID --server …`)"
        )
    }

    /// Connects (through the pool, as runs do), runs one command and says how far it got.
    public func checkServer(named name: String, of user: User) async throws -> RemoteServerCheck {
        let stored = try await storedServer(named: name, of: user)
        var check = RemoteServerCheck(reachable: false, authenticated: false, runnerVersion: nil, roundTripMilliseconds: nil, error: nil)
        let connection: SSHConnection
        do {
            connection = try await remote.sshConnection(stored, target: try remote.target(stored))
        } catch let error as SSHError {
            // Reached but refused (the host key, the credentials), or not reached at all.
            check.reachable = ![.unreachable, .timeout, .circuitOpen].contains(error.code)
            check.error = RemoteServers.croniumError(error, server: name).message
            return check
        } catch {
            check.error = (error as? CroniumError)?.message ?? "\(error)"
            return check
        }
        (check.reachable, check.authenticated) = (true, true)
        do {
            let start = ContinuousClock.now
            let result = try await connection.run("true")
            let elapsed = ContinuousClock.now - start
            check.roundTripMilliseconds = (Double(elapsed.components.attoseconds) / 1e15 + Double(elapsed.components.seconds) * 1000).rounded(
                toPlaces: 2
            )
            if !result.succeeded { check.error = "`true` failed on the host (status \(result.status.map(String.init) ?? result.signal ?? "?"))" }
            // The runner is deployed by the first run; here it is only asked, if it is there.
            if let runner = try? remote.runner() {
                let version = try await connection.run("\(runner.runnerPath) version 2>/dev/null")
                if version.succeeded { check.runnerVersion = version.stdout.trimmingCharacters(in: .whitespacesAndNewlines) }
            }
        } catch {
            check.error = "server \(name): \(error)"
        }
        return check
    }

    func storedServer(named name: String, of user: User) async throws -> StoredServer {
        guard let stored = try await store.server(ownerId: user.id, name: name) else { throw Self.noServer(name) }
        return stored
    }

    static func noServer(_ name: String) -> CroniumError { CroniumError(.notFound, "you have no server named \(name)") }

    func withConnectionState(_ server: RemoteServer) async -> RemoteServer {
        let health = await remote.pool.health(of: server.id.rawValue)
        var server = server
        server.connection = RemoteConnectionState(
            breaker: RemoteConnectionState.Breaker(rawValue: health.breaker.rawValue) ?? .closed,
            consecutiveFailures: health.consecutiveFailures,
            retryAt: health.retryAt,
            lastError: health.lastError?.description,
            connected: health.connected
        )
        return server
    }

    /// `server` with `input` applied and its credential sealed, or every problem at once.
    private func revised(_ server: RemoteServer, sealed: String?, _ input: RemoteServerInput, problems: [FieldProblem]) async throws -> (
        RemoteServer, String
    ) {
        var problems = problems
        var next = server
        if let name = input.name { next.name = name }
        if let host = input.host { next.host = host }
        if let port = input.port { next.port = port }
        if let username = input.username { next.username = username }
        if let tags = input.tags { next.tags = tags }
        problems += RemoteServerRules.problems(name: next.name, host: next.host, port: next.port, username: next.username, tags: next.tags)
        if input.privateKey != nil && input.password != nil {
            problems.append(.init(field: "password", message: "give a private key or a password, not both"))
        }
        if input.passphrase != nil && input.privateKey == nil {
            problems.append(.init(field: "passphrase", message: "goes with a privateKey"))
        }
        var credential = try sealed.map(remote.open) ?? RemoteServers.Credential()
        if let privateKey = input.privateKey {
            credential = RemoteServers.Credential(privateKey: privateKey, passphrase: input.passphrase)
            do {
                let key = try SSHPrivateKeys.parse(privateKey, passphrase: input.passphrase)
                next.auth = .privateKey
                next.publicKey = SSHPrivateKeys.publicLine(of: key) + " cronium-\(next.name)"
            } catch {
                problems.append(
                    .init(
                        field: input.passphrase != nil && error.description.contains("passphrase") ? "passphrase" : "privateKey",
                        message: error.description
                    )
                )
            }
        } else if let password = input.password {
            if password.isEmpty { problems.append(.init(field: "password", message: "must not be empty")) }
            credential = RemoteServers.Credential(password: password)
            next.auth = .password
            next.publicKey = nil
        }
        if let knownHosts = input.knownHosts, input.acceptHostKey == nil {
            let keys = HostKeys.known(in: knownHosts, host: next.host, port: next.port).compactMap(RemoteServers.pinned)
            if keys.isEmpty {
                problems.append(
                    .init(field: "knownHosts", message: "lists no key for \(next.port == 22 ? next.host : "[\(next.host)]:\(next.port)")")
                )
            }
            next.hostKeys = keys
            next.hostKeyMismatch = nil
        }
        try ValidationError.check(problems)
        if let fingerprint = input.acceptHostKey {
            // Asked of the host now: only the key it really offers is pinned, and only if it is the one compared.
            let offered = try await RemoteServers.scan(host: next.host, port: next.port)
            let wanted = fingerprint.hasPrefix("SHA256:") ? fingerprint : "SHA256:" + fingerprint
            guard offered.fingerprint == wanted.replacingOccurrences(of: "=", with: "") else {
                throw CroniumError(
                    .hostKeyChanged,
                    "\(next.host):\(next.port) offers the \(offered.type) key \(offered.fingerprint), not \(fingerprint): nothing was pinned. Compare the host's key again (ssh-keygen -lf /etc/ssh/ssh_host_\(offered.type.hasPrefix("ecdsa") ? "ecdsa" : "ed25519")_key.pub on the host)"
                )
            }
            next.hostKeys = [offered]
            next.hostKeyMismatch = nil
        }
        return (next, try remote.seal(credential))
    }
}

extension Double {
    func rounded(toPlaces places: Int) -> Double {
        let scale = pow(10, Double(places))
        return (self * scale).rounded() / scale
    }
}

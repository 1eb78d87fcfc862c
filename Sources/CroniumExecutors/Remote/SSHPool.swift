import Foundation

/// One logged-in connection per server, shared by all its runs (each in channels of its own),
/// made again when it drops or the server's settings change. Each server has a circuit breaker:
/// after `threshold` failed connects in a row it opens, and runs fail at once for `openFor`; then
/// one trial connect decides whether it closes again.
public actor SSHPool {
    public struct Policy: Sendable {
        public var connectTimeout: Duration = .seconds(10)
        /// Tries of one connect, transient failures only (a refused key or host key is final).
        public var attempts = 3
        public var backoff: Duration = .milliseconds(250)
        public var threshold = 5
        public var openFor: Duration = .seconds(60)

        public init() {}
    }

    public enum BreakerState: String, Sendable { case closed = "CLOSED", open = "OPEN", halfOpen = "HALF_OPEN" }

    /// What the pool knows of one server.
    public struct Health: Sendable {
        public var breaker: BreakerState
        public var consecutiveFailures: Int
        public var retryAt: Date?
        public var lastError: SSHError?
        public var connected: Bool
    }

    private struct Entry {
        var settings: String
        var connection: SSHConnection?
        var connecting: Task<SSHConnection, any Error>?
        var failures = 0
        var openUntil: ContinuousClock.Instant?
        var wallOpenUntil: Date?
        var trialRunning = false
        var lastError: SSHError?
    }

    public let policy: Policy
    private var entries: [Int64: Entry] = [:]

    public init(policy: Policy = Policy()) {
        self.policy = policy
    }

    /// A logged-in connection to server `id`, made if there is none (or it dropped, or the
    /// settings in `target` differ from the ones it was made with).
    public func connection(for id: Int64, target: SSHTarget) async throws(SSHError) -> SSHConnection {
        let settings = Self.settings(of: target)
        var entry = entries[id] ?? Entry(settings: settings)
        if entry.settings != settings {
            // Changed settings: a fresh start, the breaker too.
            let old = entry.connection
            Task { await old?.close() }
            entry = Entry(settings: settings)
        }
        if let connection = entry.connection, connection.isActive {
            entries[id] = entry
            return connection
        }
        entry.connection = nil
        if let openUntil = entry.openUntil {
            if ContinuousClock.now < openUntil || entry.trialRunning {
                entries[id] = entry
                throw SSHError(
                    .circuitOpen,
                    "\(target.label) failed \(entry.failures) times in a row; Cronium tries it again after \(Self.format(entry.wallOpenUntil)) (last error: \(entry.lastError?.description ?? "unknown"))"
                )
            }
            entry.trialRunning = true
        }
        let task: Task<SSHConnection, any Error>
        if let connecting = entry.connecting {
            task = connecting
        } else {
            let policy = policy
            task = Task { try await Self.connect(target, policy: policy) }
            entry.connecting = task
        }
        entries[id] = entry
        do {
            let connection = try await task.value
            record(id, settings: settings, task: task) {
                $0.connection = connection
                $0.failures = 0
                $0.openUntil = nil
                $0.wallOpenUntil = nil
                $0.lastError = nil
            }
            return connection
        } catch {
            let error = error as? SSHError ?? SSHError(.disconnected, "\(error)")
            let policy = policy
            record(id, settings: settings, task: task) {
                $0.failures += 1
                $0.lastError = error
                if $0.failures >= policy.threshold || $0.openUntil != nil {
                    $0.openUntil = ContinuousClock.now + policy.openFor
                    $0.wallOpenUntil = Date().addingTimeInterval(Double(policy.openFor.components.seconds))
                }
            }
            throw error
        }
    }

    /// Applies the outcome of `task` once (every waiter on the same connect sees the same task).
    private func record(_ id: Int64, settings: String, task: Task<SSHConnection, any Error>, _ change: (inout Entry) -> Void) {
        guard var entry = entries[id], entry.settings == settings, entry.connecting == task else { return }
        entry.connecting = nil
        entry.trialRunning = false
        change(&entry)
        entries[id] = entry
    }

    /// Connects, trying again after a pause when the failure may pass (not for keys refused).
    static func connect(_ target: SSHTarget, policy: Policy) async throws -> SSHConnection {
        var attempt = 1
        while true {
            do {
                return try await SSHConnection.connect(to: target, timeout: policy.connectTimeout)
            } catch {
                let transient: Set<SSHError.Code> = [.unreachable, .timeout, .disconnected]
                guard transient.contains(error.code), attempt < policy.attempts else { throw error }
                try await Task.sleep(for: policy.backoff * (1 << (attempt - 1)))
                attempt += 1
            }
        }
    }

    public func health(of id: Int64) -> Health {
        guard let entry = entries[id] else { return Health(breaker: .closed, consecutiveFailures: 0, retryAt: nil, lastError: nil, connected: false) }
        let breaker: BreakerState =
            if let openUntil = entry.openUntil { ContinuousClock.now < openUntil ? .open : .halfOpen } else { .closed }
        return Health(
            breaker: breaker,
            consecutiveFailures: entry.failures,
            retryAt: breaker == .closed ? nil : entry.wallOpenUntil,
            lastError: entry.lastError,
            connected: entry.connection?.isActive ?? false
        )
    }

    /// Closes and forgets server `id`'s connection (its settings changed, or it was removed).
    public func forget(_ id: Int64) async {
        let entry = entries.removeValue(forKey: id)
        entry?.connecting?.cancel()
        await entry?.connection?.close()
    }

    /// Closes every connection (the server is stopping).
    public func closeAll() async {
        for id in Array(entries.keys) { await forget(id) }
    }

    /// What makes a connection: a change of any of it needs a new one.
    static func settings(of target: SSHTarget) -> String {
        let credential: String =
            switch target.credential {
            case .privateKey(let key): SSHPrivateKeys.publicLine(of: key)
            case .password(let password): "password:\(password.hashValue)"
            }
        return [target.host, String(target.port), target.username, credential, target.pinnedHostKeys.joined(separator: ",")].joined(separator: "\n")
    }

    static func format(_ date: Date?) -> String {
        guard let date else { return "a while" }
        return date.formatted(.iso8601)
    }
}

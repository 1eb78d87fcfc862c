import Foundation
import ServiceLifecycle

/// One logged-in connection per server, shared by all its runs (each in channels of its own),
/// made again when it drops or the server's settings change. Each server has a circuit breaker:
/// after `threshold` failed connects in a row it opens, and runs fail at once for `openFor`; then
/// one trial connect decides whether it closes again.
///
/// A `Service`: it closes every connection when the node stops, after the runs (it starts before
/// the dispatcher, so it stops after it).
public actor SSHPool: Service {
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
        var failures = 0
        var openUntil: ContinuousClock.Instant?
        var wallOpenUntil: Date?
        var trialRunning = false
        var lastError: SSHError?
    }

    public let policy: Policy
    private var entries: [Int64: Entry] = [:]
    /// One connect at a time per server and settings; runs that need it meanwhile wait for it.
    private let connects = SingleFlight<String, SSHConnection>()

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
            await entry.connection?.close()
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
        entries[id] = entry
        let policy = policy
        do {
            // The connect's outcome is recorded once, by the caller that made it.
            return try await connects.run("\(id)\n\(settings)") {
                do {
                    let connection = try await Self.connect(target, policy: policy)
                    await record(id, settings: settings, connected: connection)
                    return connection
                } catch {
                    await record(id, settings: settings, failure: error as? SSHError ?? SSHError(.disconnected, "\(error)"))
                    throw error
                }
            }
        } catch {
            throw error as? SSHError ?? SSHError(.disconnected, "\(error)")
        }
    }

    private func record(_ id: Int64, settings: String, connected connection: SSHConnection) async {
        guard var entry = entries[id], entry.settings == settings else {
            // Forgotten, or its settings changed, while it connected.
            return await connection.close()
        }
        entry.trialRunning = false
        entry.connection = connection
        entry.failures = 0
        entry.openUntil = nil
        entry.wallOpenUntil = nil
        entry.lastError = nil
        entries[id] = entry
    }

    private func record(_ id: Int64, settings: String, failure error: SSHError) {
        guard var entry = entries[id], entry.settings == settings else { return }
        entry.trialRunning = false
        entry.failures += 1
        entry.lastError = error
        if entry.failures >= policy.threshold || entry.openUntil != nil {
            entry.openUntil = ContinuousClock.now + policy.openFor
            entry.wallOpenUntil = Date().addingTimeInterval(Double(policy.openFor.components.seconds))
        }
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

    /// Closes and forgets server `id`'s connection (its settings changed, or it was removed); a
    /// connect under way is closed when it is made.
    public func forget(_ id: Int64) async {
        await entries.removeValue(forKey: id)?.connection?.close()
    }

    /// Waits for the node to stop, then closes every connection.
    public func run() async throws {
        try? await gracefulShutdown()
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

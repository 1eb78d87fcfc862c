import CroniumCore
import CroniumExecutors
import Foundation
import Synchronization

/// What the runtime API knows of one running execution, from its start to its end: the facts
/// its `event()` helper reads, its input, and what the script set (output and condition). The
/// session exists exactly while the run does; a token whose session is gone is refused.
public final class RuntimeSession: Sendable {
    public let executionId: ExecutionID
    public let event: Event
    public let attempt: Int
    public let trigger: ExecutionTrigger
    public let scheduledFor: Date?
    /// JSON text, or nil when the run was started without an input.
    public let input: String?
    /// A workflow node's run: its workflow, run and node.
    public let workflow: WorkflowPlace?
    /// When the run's token stops working even if the run were still going: its deadline plus a grace period.
    public let expiresAt: Date
    /// The run's log mask, which learns the secrets the script sets.
    public let mask: LogMask
    private let state: Mutex<State>

    private struct State {
        var outputValue: String?
        var condition: Bool?
        var bucket: TokenBucket
    }

    /// Calls the run may make a second, and at once.
    public let callsPerSecond: Int
    public var burst: Int { callsPerSecond * 2 }
    /// After the run's deadline, its token still works this long (the run is being stopped).
    public static let tokenGrace: TimeInterval = 60

    public init(
        executionId: ExecutionID,
        event: Event,
        attempt: Int,
        trigger: ExecutionTrigger,
        scheduledFor: Date?,
        input: String?,
        workflow: WorkflowPlace? = nil,
        mask: LogMask = LogMask(secrets: []),
        callsPerSecond: Int = 50,
        now: Date = Date()
    ) {
        self.mask = mask
        self.callsPerSecond = callsPerSecond
        self.executionId = executionId
        self.event = event
        self.attempt = attempt
        self.trigger = trigger
        self.scheduledFor = scheduledFor
        self.input = input
        self.workflow = workflow
        expiresAt = now + TimeInterval(event.timeoutSeconds) + Self.tokenGrace
        state = Mutex(State(bucket: TokenBucket(capacity: Double(callsPerSecond * 2), perSecond: Double(callsPerSecond), now: now)))
    }

    /// Takes one request out of the run's allowance; nil when it may go ahead, else how long to
    /// wait before the next one would be let through.
    public func admit(now: Date = Date()) -> TimeInterval? {
        state.withLock { $0.bucket.take(now: now) }
    }

    public func setOutput(_ json: String) { state.withLock { $0.outputValue = json } }
    public func setCondition(_ condition: Bool) { state.withLock { $0.condition = condition } }

    /// What the script set, for the run's outcome.
    public var result: (outputValue: String?, condition: Bool?) { state.withLock { ($0.outputValue, $0.condition) } }
}

/// A token bucket: `capacity` requests at once, refilled at `perSecond`.
struct TokenBucket: Sendable {
    let capacity: Double
    let perSecond: Double
    private var tokens: Double
    private var last: Date

    init(capacity: Double, perSecond: Double, now: Date) {
        self.capacity = capacity
        self.perSecond = perSecond
        tokens = capacity
        last = now
    }

    mutating func take(now: Date) -> TimeInterval? {
        tokens = min(capacity, tokens + max(0, now.timeIntervalSince(last)) * perSecond)
        last = now
        guard tokens >= 1 else { return (1 - tokens) / perSecond }
        tokens -= 1
        return nil
    }
}

/// The sessions of the runs going on in this process.
public final class RuntimeSessions: Sendable {
    private let sessions = Mutex<[ExecutionID: RuntimeSession]>([:])

    public init() {}

    public func session(_ id: ExecutionID) -> RuntimeSession? { sessions.withLock { $0[id] } }
    func open(_ session: RuntimeSession) { sessions.withLock { $0[session.executionId] = session } }
    func close(_ id: ExecutionID) { sessions.withLock { _ = $0.removeValue(forKey: id) } }
}

/// Gives one run its own way in to the runtime API for as long as `body` runs: a listener
/// (a unix socket) and a token that work for that run only.
public protocol RuntimeGateway: Sendable {
    func withEndpoint<T: Sendable>(for session: RuntimeSession, _ body: (RuntimeEndpoint) async -> T) async throws -> T
}

/// The runtime API as the engine sees it: sessions it opens and closes around runs, and the
/// gateway that lets scripts reach them.
public struct RuntimeAccess: Sendable {
    public let sessions: RuntimeSessions
    public let gateway: any RuntimeGateway

    public init(sessions: RuntimeSessions, gateway: any RuntimeGateway) {
        self.sessions = sessions
        self.gateway = gateway
    }
}

import Foundation

/// The schedulable unit: what to run, when, and under which limits.
public struct Event: Codable, Sendable, Equatable, Identifiable {
    public var id: EventID
    public var ownerId: UserID
    public var name: String
    public var description: String
    public var type: EventType
    /// Script source for `BASH`, `PYTHON` and `NODEJS` events.
    public var content: String
    public var httpRequest: HTTPRequestSpec?
    /// `TOOL_ACTION`: the tool and the message (templates over the run).
    public var toolAction: ToolActionSpec? = nil
    public var status: EventStatus
    public var triggerType: TriggerType
    public var schedule: Schedule?
    /// Variables given to the script; nothing of the server's own environment is passed on.
    public var environment: [String: String]
    /// The owner's [variables](Variable) given to the script as environment variables, by
    /// environment name (`DB_PASSWORD` → the variable `PROD_DB_PASSWORD`), read when a run starts.
    public var variables: [String: String]?
    /// What follows a run's final end (``EventAction``), in firing order within each kind.
    public var actions: [EventAction]?
    public var timeoutValue: Int
    public var timeoutUnit: TimeUnit
    /// How many times a failed run is tried again (0–10), waiting `retryBackoffSeconds * 2^(attempt-1)` between tries.
    public var retries: Int
    public var retryBackoffSeconds: Int
    /// 0 means unlimited; when `executionCount` reaches it the event is paused.
    public var maxExecutions: Int
    public var executionCount: Int
    public var resetCounterOnActive: Bool
    public var tags: [String]
    public var runLocation: RunLocation
    /// The container image of a `CONTAINER` event; nil takes the server's image for its language.
    public var image: String? = nil
    /// The servers a `REMOTE` event runs on, by name (its owner's), and every server of its owner
    /// with this tag besides: one run on each, in parallel.
    public var servers: [String]? = nil
    public var serverTag: String? = nil
    /// Whether a run may use the network: the sandbox's own network namespace when off, a
    /// container's network `none` when off and `bridge` when on (off unless asked, for containers).
    public var networkAccess: Bool
    /// Memory, processes, open files and disk of one run; nil fields take the server's defaults.
    public var limits: RunLimits?
    /// Host paths the sandbox shows this event's runs read-only, besides the server's own list.
    /// Only administrators may set them: a path opens part of the host to every run of the event.
    public var readOnlyPaths: [String]?
    /// Shared events can be seen and run by every user, but changed only by their owner.
    public var shared: Bool
    /// Largest log kept for one run; beyond it the head and the tail are kept and the middle counted.
    public var logCapBytes: Int
    /// How long this event's runs and logs are kept; nil fields take the server's defaults.
    public var retention: Retention? = nil
    public var createdAt: Date
    public var updatedAt: Date

    public var timeoutSeconds: Int { timeoutValue * timeoutUnit.seconds }

    /// Whether the scheduler should plan fires for this event.
    public var isScheduled: Bool { status == .active && triggerType == .schedule && schedule != nil }

    public static let defaultLogCapBytes = 1 << 20
    public static let maxRetries = 10
    /// Fields an event's JSON has that only Cronium sets: a client that sends a fetched event back
    /// with its changes may leave them in, and they are ignored.
    /// (`nextFireAt` and `lastExecution` are those of ``EventOverview``, the form the API shows.)
    public static let readOnlyFields: Set<String> = ["id", "ownerId", "executionCount", "createdAt", "updatedAt", "nextFireAt", "lastExecution"]
}

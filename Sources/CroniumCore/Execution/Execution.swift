import Foundation

public enum ExecutionStatus: String, Codable, Sendable, CaseIterable {
    case pending = "PENDING"
    case running = "RUNNING"
    case success = "SUCCESS"
    case failure = "FAILURE"
    case timeout = "TIMEOUT"
    case cancelled = "CANCELLED"
    /// Reserved for runs on several servers where only some succeed.
    case partial = "PARTIAL"

    public var isFinal: Bool { self != .pending && self != .running }
}

/// What asked for a run; kept on the execution so the history explains itself.
public enum ExecutionTrigger: String, Codable, Sendable, CaseIterable {
    case manual = "MANUAL"
    case schedule = "SCHEDULE"
    case retry = "RETRY"
}

/// Why a run failed, when Cronium knows a reason a program can act on (the text in `error` says it
/// to a person).
public enum ExecutionErrorCode: String, Codable, Sendable, CaseIterable {
    /// The run's processes used more memory than its limit and the kernel ended them.
    case outOfMemory = "OUT_OF_MEMORY"
    /// The run tried to have more processes than its limit.
    case tooManyProcesses = "TOO_MANY_PROCESSES"
}

/// One run of an event, recorded before anything runs and finished in one write.
public struct Execution: Codable, Sendable, Equatable, Identifiable {
    public var id: Int64
    public var eventId: Int64
    public var status: ExecutionStatus
    public var trigger: ExecutionTrigger
    /// 1 for the first try; a retry is a new execution with the next attempt number.
    public var attempt: Int
    /// The schedule occurrence this run serves, when a schedule started it.
    public var scheduledFor: Date?
    public var createdAt: Date
    public var startedAt: Date?
    public var finishedAt: Date?
    public var exitCode: Int?
    /// The result a person reads first: an HTTP response body (capped), or the reason for a failure.
    public var output: String?
    public var error: String?
    public var errorCode: ExecutionErrorCode?
    public var logBytes: Int
    public var logDroppedBytes: Int
    public var triggeredBy: Int64?

    public init(id: Int64, eventId: Int64, status: ExecutionStatus, trigger: ExecutionTrigger, attempt: Int, scheduledFor: Date? = nil, createdAt: Date, startedAt: Date? = nil, finishedAt: Date? = nil, exitCode: Int? = nil, output: String? = nil, error: String? = nil, errorCode: ExecutionErrorCode? = nil, logBytes: Int, logDroppedBytes: Int, triggeredBy: Int64? = nil) {
        self.id = id
        self.eventId = eventId
        self.status = status
        self.trigger = trigger
        self.attempt = attempt
        self.scheduledFor = scheduledFor
        self.createdAt = createdAt
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.exitCode = exitCode
        self.output = output
        self.error = error
        self.errorCode = errorCode
        self.logBytes = logBytes
        self.logDroppedBytes = logDroppedBytes
        self.triggeredBy = triggeredBy
    }

    public var durationMs: Int? {
        guard let startedAt, let finishedAt else { return nil }
        return Int((finishedAt.timeIntervalSince(startedAt) * 1000).rounded())
    }
}

/// How a run ended, as reported by an executor.
public struct ExecutionOutcome: Sendable, Equatable {
    public var status: ExecutionStatus
    public var exitCode: Int?
    public var output: String?
    public var error: String?
    public var errorCode: ExecutionErrorCode?

    public init(status: ExecutionStatus, exitCode: Int? = nil, output: String? = nil, error: String? = nil, errorCode: ExecutionErrorCode? = nil) {
        self.status = status
        self.exitCode = exitCode
        self.output = output
        self.error = error
        self.errorCode = errorCode
    }
}

import Foundation

/// What became of one due schedule occurrence.
public enum OccurrenceOutcome: String, Codable, Sendable, CaseIterable {
    /// Enqueued on time.
    case ran = "RAN"
    /// Not run because the previous run was still going (overlap policy `skip`).
    case skipped = "SKIPPED"
    /// Waiting for the previous run to finish (overlap policy `queue`).
    case queued = "QUEUED"
    /// The previous run was cancelled to make room (overlap policy `replace`).
    case replaced = "REPLACED"
    /// Fell due while Cronium was down and was not made up (misfire policy).
    case missed = "MISSED"
    /// Fell due while Cronium was down and was run late (misfire policy `last` or `all`).
    case caughtUp = "CAUGHT_UP"
}

/// A row of the schedule ledger: every due occurrence is written, whatever became of it.
public struct ScheduleOccurrence: Codable, Sendable, Equatable {
    public var id: Int64
    public var eventId: EventID
    public var scheduledFor: Date
    public var recordedAt: Date
    public var outcome: OccurrenceOutcome
    public var reason: String?
    public var executionId: ExecutionID?

    public init(
        id: Int64 = 0,
        eventId: EventID,
        scheduledFor: Date,
        recordedAt: Date,
        outcome: OccurrenceOutcome,
        reason: String? = nil,
        executionId: ExecutionID? = nil
    ) {
        self.id = id
        self.eventId = eventId
        self.scheduledFor = scheduledFor
        self.recordedAt = recordedAt
        self.outcome = outcome
        self.reason = reason
        self.executionId = executionId
    }
}

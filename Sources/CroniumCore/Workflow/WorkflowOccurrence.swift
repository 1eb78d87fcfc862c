import Foundation

/// A row of a scheduled workflow's ledger: every due occurrence is written, whatever became of
/// it, as for events (``ScheduleOccurrence``), naming the workflow run it started.
public struct WorkflowOccurrence: Codable, Sendable, Equatable {
    public var id: Int64
    public var workflowId: WorkflowID
    public var scheduledFor: Date
    public var recordedAt: Date
    public var outcome: OccurrenceOutcome
    public var reason: String?
    public var workflowRunId: WorkflowRunID?

    public init(
        id: Int64 = 0,
        workflowId: WorkflowID,
        scheduledFor: Date,
        recordedAt: Date,
        outcome: OccurrenceOutcome,
        reason: String? = nil,
        workflowRunId: WorkflowRunID? = nil
    ) {
        self.id = id
        self.workflowId = workflowId
        self.scheduledFor = scheduledFor
        self.recordedAt = recordedAt
        self.outcome = outcome
        self.reason = reason
        self.workflowRunId = workflowRunId
    }
}

import Foundation

/// The next fire times of an event (`GET /api/v1/events/{id}/next`). For an event that does not
/// fire now (paused, draft, archived) they are the times it would fire if it were made ACTIVE.
public struct UpcomingFires: Codable, Sendable, Equatable {
    public var eventId: EventID
    public var status: EventStatus
    /// Whether the scheduler fires the event now (ACTIVE, with a schedule).
    public var fires: Bool
    /// The schedule's time zone, to show the times in; nil without a schedule.
    public var timeZone: String?
    public var times: [Date]

    public init(eventId: EventID, status: EventStatus, fires: Bool, timeZone: String?, times: [Date]) {
        self.eventId = eventId
        self.status = status
        self.fires = fires
        self.timeZone = timeZone
        self.times = times
    }
}

/// The next fire times of a workflow (`GET /api/v1/workflows/{id}/next`), as for events.
public struct UpcomingWorkflowFires: Codable, Sendable, Equatable {
    public var workflowId: WorkflowID
    public var status: WorkflowStatus
    /// Whether the scheduler fires the workflow now (ACTIVE, SCHEDULE trigger).
    public var fires: Bool
    public var timeZone: String?
    public var times: [Date]

    public init(workflowId: WorkflowID, status: WorkflowStatus, fires: Bool, timeZone: String?, times: [Date]) {
        self.workflowId = workflowId
        self.status = status
        self.fires = fires
        self.timeZone = timeZone
        self.times = times
    }
}

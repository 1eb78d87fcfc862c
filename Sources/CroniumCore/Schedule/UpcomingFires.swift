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

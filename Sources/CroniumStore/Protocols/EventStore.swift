import CroniumCore
import Foundation

/// Events and their schedules, with the ledger of every occurrence.
public protocol EventStore: Sendable {
    /// Stores a new event and returns it with its id.
    func insertEvent(_ event: Event) async throws -> Event
    /// Replaces an event's definition. The execution counter is owned by the engine, so it is only
    /// written here when the caller deliberately reset it (re-activation).
    func updateEvent(_ event: Event) async throws
    /// Inserts and updates events in one transaction, all or none (an import); returns the
    /// inserted ones with their ids. `revise`, given every saved event (the inserted ones with
    /// their ids), returns events to write again in the same transaction (references to events
    /// that had no id before); it may throw to undo everything.
    func saveEvents(inserting new: [Event], updating changed: [Event], revise: (@Sendable ([Event]) throws -> [Event])?) async throws -> [Event]
    func deleteEvent(id: EventID) async throws
    func event(id: EventID) async throws -> Event?
    /// Events in id order; `ownerOrShared` limits them to those a non-admin user may see.
    func events(ownerOrShared userId: UserID?) async throws -> [Event]
    /// Events the scheduler should plan for.
    func scheduledEvents() async throws -> [Event]
    /// Records one instant's fires in one transaction: each run enqueued, each ledger row written
    /// (naming its run), each event's next planned fire saved. Multi-row statements, a thousand
    /// rows each: an instant when ten thousand schedules fire costs tens of statements, not tens
    /// of thousands.
    func recordFires(_ records: [FireRecord], states: [ScheduleState], now: Date) async throws
    /// Where every event's and workflow's timetable stood.
    func scheduleStates() async throws -> [RunTarget: ScheduleState]
    func scheduleState(of owner: RunTarget) async throws -> ScheduleState?
    func saveScheduleState(_ state: ScheduleState) async throws
    /// The ledger of an event, newest first; `offset` skips that many, for paging back through a long history.
    func ledger(eventId: EventID, limit: Int, offset: Int) async throws -> [ScheduleOccurrence]
}

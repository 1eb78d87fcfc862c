import CroniumCore
import Foundation
import SQLKit

/// Where an event's schedule stands, kept so a restart continues exactly where it stopped.
public struct ScheduleState: Sendable, Equatable {
    public var eventId: EventID
    public var nextFireAt: Date?
    public var lastFireAt: Date?

    public init(eventId: EventID, nextFireAt: Date?, lastFireAt: Date?) {
        self.eventId = eventId
        self.nextFireAt = nextFireAt
        self.lastFireAt = lastFireAt
    }
}

/// A ledger row to write and, when the occurrence runs, the run to enqueue for it.
public struct FireRecord: Sendable {
    public var occurrence: ScheduleOccurrence
    public var run: EnqueueRequest?

    public init(occurrence: ScheduleOccurrence, run: EnqueueRequest?) {
        self.occurrence = occurrence
        self.run = run
    }
}

extension Database {
    /// Records one instant's fires in one transaction: each run enqueued, each ledger row written
    /// (naming its run), each event's next planned fire saved.
    public func recordFires(_ records: [FireRecord], states: [ScheduleState], now: Date) async throws {
        try await transaction { sql in
            for record in records {
                var occurrence = record.occurrence
                if let run = record.run { occurrence.executionId = try await Self.enqueue(run, now: now, in: sql) }
                try await Self.recordOccurrence(occurrence, in: sql)
            }
            for state in states { try await Self.saveScheduleState(state, in: sql) }
        }
    }

    public func scheduleStates() async throws -> [EventID: ScheduleState] {
        try await read { sql in
            var states: [EventID: ScheduleState] = [:]
            for row in try await sql.raw("SELECT * FROM schedule_state").all() {
                let state = try Self.decodeScheduleState(row)
                states[state.eventId] = state
            }
            return states
        }
    }

    public func scheduleState(eventId: EventID) async throws -> ScheduleState? {
        try await read { sql in
            try await sql.raw("SELECT * FROM schedule_state WHERE event_id = \(bind: eventId)").first().map(Self.decodeScheduleState)
        }
    }

    static func decodeScheduleState(_ row: any SQLRow) throws -> ScheduleState {
        ScheduleState(
            eventId: try row.decode(column: "event_id", as: EventID.self),
            nextFireAt: try row.decode(column: "next_fire_at", as: Int64?.self).map(Date.init(millis:)),
            lastFireAt: try row.decode(column: "last_fire_at", as: Int64?.self).map(Date.init(millis:)))
    }

    static func saveScheduleState(_ state: ScheduleState, in sql: any SQLDatabase) async throws {
        try await sql.raw(
            """
            INSERT INTO schedule_state (event_id, next_fire_at, last_fire_at)
            VALUES (\(bind: state.eventId), \(bind: state.nextFireAt?.millis), \(bind: state.lastFireAt?.millis))
            ON CONFLICT (event_id) DO UPDATE SET next_fire_at = excluded.next_fire_at,
              last_fire_at = COALESCE(excluded.last_fire_at, schedule_state.last_fire_at)
            """
        ).run()
    }

    public func saveScheduleState(_ state: ScheduleState) async throws {
        try await transaction { sql in try await Self.saveScheduleState(state, in: sql) }
    }

    static func recordOccurrence(_ occurrence: ScheduleOccurrence, in sql: any SQLDatabase) async throws {
        try await sql.raw(
            """
            INSERT INTO schedule_ledger (event_id, scheduled_for, recorded_at, outcome, reason, execution_id)
            VALUES (\(bind: occurrence.eventId), \(bind: occurrence.scheduledFor.millis), \(bind: occurrence.recordedAt.millis),
              \(bind: occurrence.outcome.rawValue), \(bind: occurrence.reason), \(bind: occurrence.executionId))
            """
        ).run()
    }

    /// The ledger of an event, newest first; `offset` skips that many, for paging back through a long history.
    public func ledger(eventId: EventID, limit: Int = 100, offset: Int = 0) async throws -> [ScheduleOccurrence] {
        try await read { sql in
            try await sql.raw(
                "SELECT * FROM schedule_ledger WHERE event_id = \(bind: eventId) ORDER BY scheduled_for DESC, id DESC LIMIT \(bind: limit) OFFSET \(bind: offset)"
            ).all().map {
                ScheduleOccurrence(
                    id: try $0.decode(column: "id", as: Int64.self),
                    eventId: try $0.decode(column: "event_id", as: EventID.self),
                    scheduledFor: Date(millis: try $0.decode(column: "scheduled_for", as: Int64.self)),
                    recordedAt: Date(millis: try $0.decode(column: "recorded_at", as: Int64.self)),
                    outcome: try $0.decode(column: "outcome", as: OccurrenceOutcome.self),
                    reason: try $0.decode(column: "reason", as: String?.self),
                    executionId: try $0.decode(column: "execution_id", as: ExecutionID?.self))
            }
        }
    }
}

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
    /// (naming its run), each event's next planned fire saved. Multi-row statements, a thousand
    /// rows each: an instant when ten thousand schedules fire costs tens of statements, not tens
    /// of thousands.
    public func recordFires(_ records: [FireRecord], states: [ScheduleState], now: Date) async throws {
        try await transaction { sql in
            var occurrences = records.map(\.occurrence)
            let runs = records.indices.compactMap { index in records[index].run.map { (index, $0) } }
            for slice in runs.slices(of: 1_000) {
                let ids = try await Self.enqueue(slice.map(\.1), now: now, in: sql)
                for (id, (index, _)) in zip(ids, slice) { occurrences[index].executionId = id }
            }
            for slice in occurrences.slices(of: 1_000) {
                var query = SQLQueryString(
                    "INSERT INTO schedule_ledger (event_id, scheduled_for, recorded_at, outcome, reason, execution_id) VALUES "
                )
                query.appendRows(
                    slice.lazy.map { [$0.eventId, $0.scheduledFor.millis, $0.recordedAt.millis, $0.outcome.rawValue, $0.reason, $0.executionId] }
                )
                try await sql.raw(query).run()
            }
            for slice in states.slices(of: 1_000) {
                var query = SQLQueryString("INSERT INTO schedule_state (event_id, next_fire_at, last_fire_at) VALUES ")
                query.appendRows(slice.lazy.map { [$0.eventId, $0.nextFireAt?.millis, $0.lastFireAt?.millis] })
                query.appendInterpolation(unsafeRaw: Self.scheduleStateConflict)
                try await sql.raw(query).run()
            }
        }
    }

    /// A saved state replaces the planned fire; the last fire is kept when the new state has none.
    private static let scheduleStateConflict = """
         ON CONFLICT (event_id) DO UPDATE SET next_fire_at = excluded.next_fire_at,
          last_fire_at = COALESCE(excluded.last_fire_at, schedule_state.last_fire_at)
        """

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
            lastFireAt: try row.decode(column: "last_fire_at", as: Int64?.self).map(Date.init(millis:))
        )
    }

    public func saveScheduleState(_ state: ScheduleState) async throws {
        try await transaction { sql in
            var query = SQLQueryString("INSERT INTO schedule_state (event_id, next_fire_at, last_fire_at) VALUES ")
            query.appendRows([[state.eventId, state.nextFireAt?.millis, state.lastFireAt?.millis]])
            query.appendInterpolation(unsafeRaw: Self.scheduleStateConflict)
            try await sql.raw(query).run()
        }
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
                    executionId: try $0.decode(column: "execution_id", as: ExecutionID?.self)
                )
            }
        }
    }
}

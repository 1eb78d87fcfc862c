import CroniumCore
import Foundation
import SQLKit

/// Where an event's or a workflow's schedule stands, kept so a restart continues exactly where it stopped.
public struct ScheduleState: Sendable, Equatable {
    public var owner: RunTarget
    public var nextFireAt: Date?
    public var lastFireAt: Date?

    public init(owner: RunTarget, nextFireAt: Date?, lastFireAt: Date?) {
        self.owner = owner
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
            try await Self.saveScheduleStates(states, in: sql)
        }
    }

    /// Saves states of both kinds of owner, a thousand rows a statement.
    static func saveScheduleStates(_ states: [ScheduleState], in sql: any SQLDatabase) async throws {
        let events = states.compactMap { state in if case .event(let id) = state.owner { (id.rawValue, state) } else { nil } }
        let workflows = states.compactMap { state in if case .workflow(let id) = state.owner { (id.rawValue, state) } else { nil } }
        for (table, rows) in [("schedule_state", events), ("workflow_schedule_state", workflows)] {
            for slice in rows.slices(of: 1_000) {
                var query = SQLQueryString(
                    "INSERT INTO \(unsafeRaw: table) (\(unsafeRaw: Self.ownerColumn(of: table)), next_fire_at, last_fire_at) VALUES "
                )
                query.appendRows(slice.lazy.map { [$0.0, $0.1.nextFireAt?.millis, $0.1.lastFireAt?.millis] })
                query.appendInterpolation(unsafeRaw: Self.scheduleStateConflict(table))
                try await sql.raw(query).run()
            }
        }
    }

    private static func ownerColumn(of table: String) -> String { table == "schedule_state" ? "event_id" : "workflow_id" }

    /// A saved state replaces the planned fire; the last fire is kept when the new state has none.
    private static func scheduleStateConflict(_ table: String) -> String {
        """
         ON CONFLICT (\(ownerColumn(of: table))) DO UPDATE SET next_fire_at = excluded.next_fire_at,
          last_fire_at = COALESCE(excluded.last_fire_at, \(table).last_fire_at)
        """
    }

    public func scheduleStates() async throws -> [RunTarget: ScheduleState] {
        try await read { sql in
            var states: [RunTarget: ScheduleState] = [:]
            for row in try await sql.raw("SELECT event_id AS id, next_fire_at, last_fire_at FROM schedule_state").all() {
                let state = try Self.decodeScheduleState(row, owner: { .event(EventID($0)) })
                states[state.owner] = state
            }
            for row in try await sql.raw("SELECT workflow_id AS id, next_fire_at, last_fire_at FROM workflow_schedule_state").all() {
                let state = try Self.decodeScheduleState(row, owner: { .workflow(WorkflowID($0)) })
                states[state.owner] = state
            }
            return states
        }
    }

    public func scheduleState(of owner: RunTarget) async throws -> ScheduleState? {
        try await read { sql in
            switch owner {
            case .event(let id):
                try await sql.raw("SELECT event_id AS id, next_fire_at, last_fire_at FROM schedule_state WHERE event_id = \(bind: id)").first()
                    .map { try Self.decodeScheduleState($0, owner: { _ in owner }) }
            case .workflow(let id):
                try await sql.raw(
                    "SELECT workflow_id AS id, next_fire_at, last_fire_at FROM workflow_schedule_state WHERE workflow_id = \(bind: id)"
                ).first().map { try Self.decodeScheduleState($0, owner: { _ in owner }) }
            }
        }
    }

    static func decodeScheduleState(_ row: any SQLRow, owner: (Int64) -> RunTarget) throws -> ScheduleState {
        ScheduleState(
            owner: owner(try row.decode(column: "id", as: Int64.self)),
            nextFireAt: try row.decode(column: "next_fire_at", as: Int64?.self).map(Date.init(millis:)),
            lastFireAt: try row.decode(column: "last_fire_at", as: Int64?.self).map(Date.init(millis:))
        )
    }

    public func saveScheduleState(_ state: ScheduleState) async throws {
        try await transaction { sql in try await Self.saveScheduleStates([state], in: sql) }
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

extension Database {
    /// Workflows the scheduler should plan for.
    public func scheduledWorkflows() async throws -> [Workflow] {
        try await read { sql in
            try await sql.raw(
                "SELECT * FROM workflows WHERE status = \(bind: WorkflowStatus.active.rawValue) AND trigger_type = \(bind: WorkflowTrigger.schedule.rawValue)"
            ).all().map(Self.decodeWorkflow).filter(\.isScheduled)
        }
    }

    /// A workflow's ledger, newest first; `offset` skips that many.
    public func workflowLedger(workflowId: WorkflowID, limit: Int, offset: Int) async throws -> [WorkflowOccurrence] {
        try await read { sql in
            try await sql.raw(
                """
                SELECT * FROM workflow_ledger WHERE workflow_id = \(bind: workflowId)
                ORDER BY scheduled_for DESC, id DESC LIMIT \(bind: limit) OFFSET \(bind: offset)
                """
            ).all().map {
                WorkflowOccurrence(
                    id: try $0.decode(column: "id", as: Int64.self),
                    workflowId: try $0.decode(column: "workflow_id", as: WorkflowID.self),
                    scheduledFor: Date(millis: try $0.decode(column: "scheduled_for", as: Int64.self)),
                    recordedAt: Date(millis: try $0.decode(column: "recorded_at", as: Int64.self)),
                    outcome: try $0.decode(column: "outcome", as: OccurrenceOutcome.self),
                    reason: try $0.decode(column: "reason", as: String?.self),
                    workflowRunId: try $0.decode(column: "workflow_run_id", as: WorkflowRunID?.self)
                )
            }
        }
    }
}

import CroniumCore
import Foundation
import SQLKit

extension Database {
    public func execution(id: ExecutionID) async throws -> Execution? {
        try await read { sql in
            try await sql.raw("SELECT * FROM executions WHERE id = \(bind: id)").first().map(Self.decodeExecution)
        }
    }

    /// Newest first. `beforeId` pages backwards; `eventIds` limits to events a user may see.
    public func executions(
        eventId: EventID? = nil,
        status: ExecutionStatus? = nil,
        visibleTo eventIds: [EventID]? = nil,
        beforeId: ExecutionID? = nil,
        limit: Int = 50
    ) async throws -> [Execution] {
        // A run's parts (one per server) are shown with it, not among the runs.
        var query = SQLQueryString("SELECT * FROM executions WHERE part_of IS NULL")
        if let eventId { query.appendInterpolation(unsafeRaw: " AND event_id = "); query.appendInterpolation(bind: eventId) }
        if let status { query.appendInterpolation(unsafeRaw: " AND status = "); query.appendInterpolation(bind: status.rawValue) }
        if let beforeId { query.appendInterpolation(unsafeRaw: " AND id < "); query.appendInterpolation(bind: beforeId) }
        if let eventIds {
            if eventIds.isEmpty { return [] }
            query.appendInterpolation(unsafeRaw: " AND event_id IN (")
            query.appendInterpolation(binds: eventIds)
            query.appendInterpolation(unsafeRaw: ")")
        }
        query.appendInterpolation(unsafeRaw: " ORDER BY id DESC LIMIT ")
        query.appendInterpolation(bind: limit)
        let finalQuery = query
        return try await read { sql in try await sql.raw(finalQuery).all().map(Self.decodeExecution) }
    }

    public func executionStats(since: Date, sliceSeconds: Int, count: Int, visibleTo eventIds: [EventID]?) async throws -> ExecutionStats {
        if eventIds?.isEmpty == true {
            return ExecutionStats(
                running: 0,
                pending: 0,
                since: since,
                sliceSeconds: sliceSeconds,
                buckets: Self.emptyBuckets(since, sliceSeconds, count)
            )
        }
        let sliceMillis = Int64(sliceSeconds) * 1000
        // A user sees few events; an administrator, whose filter is nil, sees all.
        var visible = SQLQueryString("")
        if let eventIds {
            visible.appendInterpolation(unsafeRaw: " AND event_id IN (")
            visible.appendInterpolation(binds: eventIds)
            visible.appendInterpolation(unsafeRaw: ")")
        }
        var now = SQLQueryString("SELECT status, COUNT(*) AS runs FROM executions WHERE part_of IS NULL AND status IN ('RUNNING', 'PENDING')")
        now.appendInterpolation(visible)
        now.appendInterpolation(unsafeRaw: " GROUP BY status")
        var ended = SQLQueryString(
            """
            SELECT (finished_at - \(bind: since.millis)) / \(bind: sliceMillis) AS slice, status, COUNT(*) AS runs,
              AVG(CASE WHEN started_at IS NOT NULL THEN finished_at - started_at END) AS mean_ms,
              MAX(CASE WHEN started_at IS NOT NULL THEN finished_at - started_at END) AS max_ms
            FROM executions WHERE part_of IS NULL AND finished_at >= \(bind: since.millis)
            """
        )
        ended.appendInterpolation(visible)
        ended.appendInterpolation(unsafeRaw: " GROUP BY slice, status")
        let (nowQuery, endedQuery) = (now, ended)
        return try await read { sql in
            var counts: [String: Int] = [:]
            for row in try await sql.raw(nowQuery).all() {
                counts[try row.decode(column: "status", as: String.self)] = try row.decode(column: "runs", as: Int.self)
            }
            var buckets = Self.emptyBuckets(since, sliceSeconds, count)
            var durations: [Int: (runs: Int, total: Double, max: Int)] = [:]
            for row in try await sql.raw(endedQuery).all() {
                let slice = try row.decode(column: "slice", as: Int.self)
                guard buckets.indices.contains(slice) else { continue }
                let runs = try row.decode(column: "runs", as: Int.self)
                buckets[slice].ended[try row.decode(column: "status", as: String.self)] = runs
                if let mean = try row.decode(column: "mean_ms", as: Double?.self), let longest = try row.decode(column: "max_ms", as: Int?.self) {
                    let sum = durations[slice, default: (0, 0, 0)]
                    durations[slice] = (sum.runs + runs, sum.total + mean * Double(runs), max(sum.max, longest))
                }
            }
            for (slice, sum) in durations where sum.runs > 0 {
                buckets[slice].meanDurationMs = Int(sum.total / Double(sum.runs))
                buckets[slice].maxDurationMs = sum.max
            }
            return ExecutionStats(
                running: counts["RUNNING"] ?? 0,
                pending: counts["PENDING"] ?? 0,
                since: since,
                sliceSeconds: sliceSeconds,
                buckets: buckets
            )
        }
    }

    private static func emptyBuckets(_ since: Date, _ sliceSeconds: Int, _ count: Int) -> [ExecutionStats.Bucket] {
        (0..<count).map { ExecutionStats.Bucket(start: since + TimeInterval($0 * sliceSeconds)) }
    }

    /// The newest run of each of `eventIds` that has one (an index lookup per event).
    public func latestExecutions(eventIds: [EventID]) async throws -> [EventID: Execution] {
        try await read { sql in
            var result: [EventID: Execution] = [:]
            for slice in eventIds.slices(of: 10_000) {
                for row in try await sql.raw(
                    "SELECT * FROM executions WHERE id IN (SELECT MAX(id) FROM executions WHERE part_of IS NULL AND event_id IN (\(binds: Array(slice))) GROUP BY event_id)"
                ).all() {
                    let execution = try Self.decodeExecution(row)
                    result[execution.eventId] = execution
                }
            }
            return result
        }
    }

    /// Executions still marked running or pending, oldest first.
    public func unfinishedExecutions(eventId: EventID) async throws -> [Execution] {
        try await read { sql in
            try await sql.raw(
                "SELECT * FROM executions WHERE event_id = \(bind: eventId) AND status IN ('PENDING', 'RUNNING') AND part_of IS NULL ORDER BY id"
            ).all().map(Self.decodeExecution)
        }
    }

    /// The runs still pending or running of each event, oldest first.
    /// Asked in slices: SQLite takes at most 32,766 bound values in one statement.
    public func unfinishedExecutionIds(eventIds: [EventID]) async throws -> [EventID: [ExecutionID]] {
        try await read { sql in
            var result: [EventID: [ExecutionID]] = [:]
            for slice in eventIds.slices(of: 10_000) {
                for row in try await sql.raw(
                    "SELECT id, event_id FROM executions WHERE status IN ('PENDING', 'RUNNING') AND part_of IS NULL AND event_id IN (\(binds: Array(slice))) ORDER BY id"
                ).all() {
                    result[try row.decode(column: "event_id", as: EventID.self), default: []].append(
                        try row.decode(column: "id", as: ExecutionID.self)
                    )
                }
            }
            return result
        }
    }

    /// Starts the parts of `run`, one per server, in the order given: running from `time`, like
    /// the run itself (a part has no job of its own: the run's node runs it).
    public func startParts(of run: Execution, servers: [String], at time: Date) async throws -> [ExecutionID] {
        try await transaction { sql in
            var ids: [ExecutionID] = []
            for server in servers {
                ids.append(
                    try await sql.raw(
                        """
                        INSERT INTO executions (event_id, status, trigger, attempt, scheduled_for, created_at, started_at, triggered_by, input,
                          part_of, server_name, log_bytes, log_dropped_bytes)
                        VALUES (\(bind: run.eventId), 'RUNNING', \(bind: run.trigger.rawValue), \(bind: run.attempt), \(bind: run.scheduledFor?.millis),
                          \(bind: time.millis), \(bind: time.millis), \(bind: run.triggeredBy), \(bind: run.input?.text), \(bind: run.id), \(bind: server), 0, 0)
                        RETURNING id
                        """
                    ).first(decodingColumn: "id", as: ExecutionID.self).required("a part's id")
                )
            }
            return ids
        }
    }

    /// Ends the parts of `runId` that are still running, as their run ended: after a crash.
    public func endParts(of runId: ExecutionID, outcome: ExecutionOutcome, at time: Date) async throws {
        try await transaction { sql in
            try await sql.raw(
                """
                UPDATE executions SET status = \(bind: outcome.status.rawValue), finished_at = \(bind: time.millis),
                  error = \(bind: outcome.error?.message), error_code = \(bind: outcome.error?.code.rawValue)
                WHERE part_of = \(bind: runId) AND status IN ('PENDING', 'RUNNING')
                """
            ).run()
        }
    }

    /// The parts of a run on several servers, in the order they were started.
    public func parts(of runId: ExecutionID) async throws -> [Execution] {
        try await read { sql in
            try await sql.raw("SELECT * FROM executions WHERE part_of = \(bind: runId) ORDER BY id").all().map(Self.decodeExecution)
        }
    }

    static func decodeExecution(_ row: any SQLRow) throws -> Execution {
        func date(_ column: String) throws -> Date? { try row.decode(column: column, as: Int64?.self).map(Date.init(millis:)) }
        var execution = Execution(
            id: try row.decode(column: "id", as: ExecutionID.self),
            eventId: try row.decode(column: "event_id", as: EventID.self),
            status: try row.decode(column: "status", as: ExecutionStatus.self),
            trigger: try row.decode(column: "trigger", as: ExecutionTrigger.self),
            attempt: try row.decode(column: "attempt", as: Int.self),
            scheduledFor: try date("scheduled_for"),
            createdAt: try date("created_at")!,
            startedAt: try date("started_at"),
            finishedAt: try date("finished_at"),
            exitCode: try row.decode(column: "exit_code", as: Int?.self),
            output: try row.decode(column: "output", as: String?.self),
            error: try row.decode(column: "error", as: String?.self),
            errorCode: try row.decode(column: "error_code", as: String?.self).flatMap { ExecutionErrorCode(rawValue: $0) },
            outputValue: try row.decode(column: "output_value", as: String?.self).flatMap(JSONValue.init(text:)),
            condition: try row.decode(column: "condition", as: Bool?.self),
            logBytes: try row.decode(column: "log_bytes", as: Int.self),
            logDroppedBytes: try row.decode(column: "log_dropped_bytes", as: Int.self),
            triggeredBy: try row.decode(column: "triggered_by", as: UserID?.self),
            input: try row.decode(column: "input", as: String?.self).flatMap(JSONValue.init(text:)),
            parentExecutionId: try row.decode(column: "parent_execution_id", as: ExecutionID?.self),
            chainDepth: try row.decode(column: "chain_depth", as: Int?.self),
            partOf: try row.decode(column: "part_of", as: ExecutionID?.self),
            server: try row.decode(column: "server_name", as: String?.self),
            workflowRunId: try row.decode(column: "workflow_run_id", as: WorkflowRunID?.self),
            workflowNode: try row.decode(column: "workflow_node", as: String?.self)
        )
        execution.logsRemovedAt = try date("logs_removed_at")
        return execution
    }
}

import CroniumCore
import Foundation
import SQLKit

extension Database: JobQueue {
    /// Writes the execution (`PENDING`) and its job in the caller's transaction: nothing runs that
    /// was not recorded first.
    static func enqueue(_ request: EnqueueRequest, now: Date, in sql: any SQLDatabase) async throws -> ExecutionID {
        try await enqueue([request], now: now, in: sql).first.required("the new run's id")
    }

    /// Many runs in two statements (keep it to a thousand at a time); their ids in `requests`' order.
    static func enqueue(_ requests: [EnqueueRequest], now: Date, in sql: any SQLDatabase) async throws -> [ExecutionID] {
        guard !requests.isEmpty else { return [] }
        var executions = SQLQueryString(
            "INSERT INTO executions (event_id, status, trigger, attempt, scheduled_for, created_at, triggered_by, input, parent_execution_id, chain_depth, workflow_run_id, workflow_node) VALUES "
        )
        executions.appendRows(
            requests.lazy.map {
                [
                    $0.eventId, "PENDING", $0.trigger.rawValue, $0.attempt, $0.scheduledFor?.millis, now.millis, $0.triggeredBy, $0.input,
                    $0.parentExecutionId, $0.chainDepth, $0.workflowRunId, $0.workflowNode,
                ]
            }
        )
        executions.appendInterpolation(unsafeRaw: " RETURNING id")
        // One statement's new ids rise in the order of its rows (one writer, rising row ids; a
        // PostgreSQL sequence is read row by row too), whatever order RETURNING lists them in.
        let ids = try await sql.raw(executions).all(decodingColumn: "id", as: ExecutionID.self).sorted()
        guard ids.count == requests.count else {
            throw StoreFailure(.rowCount, "the database returned \(ids.count) ids for \(requests.count) new runs")
        }
        var jobs = SQLQueryString("INSERT INTO jobs (execution_id, event_id, state, run_at, created_at) VALUES ")
        jobs.appendRows(zip(ids, requests).lazy.map { [$0, $1.eventId, $1.held ? "held" : "queued", $1.runAt.millis, now.millis] })
        try await sql.raw(jobs).run()
        return ids
    }

    public func withQueueTransaction<T: Sendable>(_ body: @Sendable (any QueueTransaction) async throws -> T) async throws -> T {
        try await transaction { sql in
            try await body(SQLQueueTransaction(sql: sql, dialect: self.dialect, definitions: self.workflowDefinitions))
        }
    }

    public func queuedJobCount() async throws -> Int {
        try await read { sql in
            try await sql.raw("SELECT COUNT(*) AS n FROM jobs WHERE state IN ('queued', 'held')").first(decodingColumn: "n", as: Int.self) ?? 0
        }
    }

    public func nextDueTime() async throws -> Date? {
        try await read { sql in
            try await sql.raw("SELECT MIN(run_at) AS t FROM jobs WHERE state = 'queued'")
                .first(decodingColumn: "t", as: Int64?.self)?.map(Date.init(millis:))
        }
    }

    public func renewLeases(owner: String, until: Date) async throws {
        try await transaction { sql in
            try await sql.raw(
                "UPDATE jobs SET lease_expires_at = \(bind: until.millis) WHERE lease_owner = \(bind: owner) AND state = 'claimed'"
            ).run()
        }
    }

    public func orphanedJobs(atStartup: Bool, now: Date) async throws -> [ClaimedJob] {
        let everyClaim = atStartup && dialect.oneServerPerDatabase
        return try await read { sql in
            try await sql.raw(
                """
                SELECT id, execution_id, event_id FROM jobs WHERE state = 'claimed'
                AND (\(bind: everyClaim) OR lease_expires_at < \(bind: now.millis)) ORDER BY id
                """
            ).all().map(Self.decodeClaimedJob)
        }
    }

    /// Lets the oldest held job of an event go to the queue when nothing else of the event is
    /// queued or running. Returns true when one was released. Every run's end asks, and most
    /// events hold nothing: a lookup in `jobs_event` answers that, without the update's two
    /// subqueries (about 45 µs in the engine, where the lookup takes a few).
    static func releaseHeldJob(eventId: EventID, in sql: any SQLDatabase) async throws -> Bool {
        guard
            let held = try await sql.raw("SELECT MIN(id) AS id FROM jobs WHERE event_id = \(bind: eventId) AND state = 'held'")
                .first(decodingColumn: "id", as: Int64?.self) ?? nil
        else { return false }
        return
            !(try await sql.raw(
                """
                UPDATE jobs SET state = 'queued' WHERE id = \(bind: held)
                  AND NOT EXISTS (SELECT 1 FROM jobs WHERE event_id = \(bind: eventId) AND state IN ('claimed', 'queued'))
                RETURNING id
                """
            ).all().isEmpty)
    }

    static func decodeClaimedJob(_ row: any SQLRow) throws -> ClaimedJob {
        ClaimedJob(
            jobId: try row.decode(column: "id", as: Int64.self),
            executionId: try row.decode(column: "execution_id", as: ExecutionID.self),
            eventId: try row.decode(column: "event_id", as: EventID.self)
        )
    }
}

/// The queue's steps in one SQL transaction (the writer's, on SQLite).
struct SQLQueueTransaction: QueueTransaction {
    let sql: any SQLDatabase
    let dialect: Dialect
    let definitions: WorkflowDefinitions

    func enqueue(_ requests: [EnqueueRequest], now: Date) async throws -> [ExecutionID] {
        try await Database.enqueue(requests, now: now, in: sql)
    }

    /// The due jobs are found first and updated by id: most claims find none, and a lookup in
    /// the `jobs_ready` index costs a few microseconds, where SQLite's `UPDATE … WHERE id IN
    /// (SELECT …)` builds a temporary table each time (about 0.1 ms measured in the engine).
    func claim(owner: String, limit: Int, now: Date, leaseUntil: Date) async throws -> [ClaimedJob] {
        let skipLocked = SQLQueryString(dialect.skipLocked)
        let due = try await sql.raw(
            """
            SELECT id FROM jobs WHERE state = 'queued' AND run_at <= \(bind: now.millis)
            ORDER BY run_at, id LIMIT \(bind: limit) \(skipLocked)
            """
        ).all(decodingColumn: "id", as: Int64.self)
        guard !due.isEmpty else { return [] }
        let update: SQLQueryString = """
            UPDATE jobs SET state = 'claimed', lease_owner = \(bind: owner), lease_expires_at = \(bind: leaseUntil.millis)
            WHERE id IN (\(binds: due)) RETURNING id, execution_id, event_id
            """
        return try await sql.raw(update).all().map(Database.decodeClaimedJob).sorted { $0.jobId < $1.jobId }
    }

    func markRunning(_ job: ClaimedJob, at time: Date) async throws -> Execution? {
        try await sql.raw(
            "UPDATE executions SET status = 'RUNNING', started_at = \(bind: time.millis) WHERE id = \(bind: job.executionId) AND status = 'PENDING' RETURNING *"
        ).first().map(Database.decodeExecution)
    }

    func insertRunning(_ request: EnqueueRequest, owner: String, now: Date, leaseUntil: Date) async throws -> Execution {
        let execution = try await sql.raw(
            """
            INSERT INTO executions (event_id, status, trigger, attempt, scheduled_for, created_at, started_at, triggered_by, input,
              parent_execution_id, chain_depth)
            VALUES (\(bind: request.eventId), 'RUNNING', \(bind: request.trigger.rawValue), \(bind: request.attempt),
              \(bind: request.scheduledFor?.millis), \(bind: now.millis), \(bind: now.millis), \(bind: request.triggeredBy), \(bind: request.input),
              \(bind: request.parentExecutionId), \(bind: request.chainDepth))
            RETURNING *
            """
        ).first().map(Database.decodeExecution).required("the new run")
        try await sql.raw(
            """
            INSERT INTO jobs (execution_id, event_id, state, run_at, created_at, lease_owner, lease_expires_at)
            VALUES (\(bind: execution.id), \(bind: request.eventId), 'claimed', \(bind: now.millis), \(bind: now.millis),
              \(bind: owner), \(bind: leaseUntil.millis))
            """
        ).run()
        return execution
    }

    func event(startingRunOf eventId: EventID, counting: Bool) async throws -> Event? {
        // The count's update also reads the event: one statement instead of two.
        let query: SQLQueryString =
            counting
            ? "UPDATE events SET execution_count = execution_count + 1 WHERE id = \(bind: eventId) RETURNING *"
            : "SELECT * FROM events WHERE id = \(bind: eventId)"
        return try await sql.raw(query).first().map(Database.decodeEvent)
    }

    func pause(eventId: EventID) async throws {
        try await sql.raw("UPDATE events SET status = 'PAUSED' WHERE id = \(bind: eventId)").run()
    }

    func dropJob(_ jobId: Int64) async throws {
        try await sql.raw("DELETE FROM jobs WHERE id = \(bind: jobId)").run()
    }

    func recordEnd(_ end: RunEnd, onlyIfQueued: Bool) async throws -> RecordedEnd? {
        let (outcome, time, executionId) = (end.outcome, end.finishedAt, end.executionId)
        let endable = SQLQueryString(onlyIfQueued ? "('PENDING')" : "('PENDING', 'RUNNING')")
        let recorded = try await sql.raw(
            """
            UPDATE executions SET status = \(bind: outcome.status.rawValue), finished_at = \(bind: time.millis),
              started_at = COALESCE(started_at, \(bind: time.millis)), exit_code = \(bind: outcome.exitCode),
              output = \(bind: outcome.output), error = \(bind: outcome.error?.message),
              error_code = \(bind: outcome.error?.code.rawValue), output_value = \(bind: outcome.outputValue),
              condition = \(bind: outcome.condition), log_bytes = \(bind: end.logBytes),
              log_dropped_bytes = \(bind: end.logDroppedBytes)
            WHERE id = \(bind: executionId) AND status IN \(endable)
            RETURNING event_id, workflow_run_id, workflow_node
            """
        ).first().map { row in
            RecordedEnd(
                eventId: try row.decode(column: "event_id", as: EventID.self),
                workflowRunId: try row.decode(column: "workflow_run_id", as: WorkflowRunID?.self),
                workflowNode: try row.decode(column: "workflow_node", as: String?.self)
            )
        }
        // A claimed run is marked RUNNING in the claim's own transaction, so "still PENDING"
        // means "not claimed", and a claimed run's job is not touched here.
        if recorded != nil || !onlyIfQueued {
            try await sql.raw("DELETE FROM jobs WHERE execution_id = \(bind: executionId)").run()
        }
        return recorded
    }

    func insertWorkflowRun(_ run: WorkflowRun, definition: Workflow) async throws -> WorkflowRunID {
        try await sql.raw(
            """
            INSERT INTO workflow_runs (workflow_id, status, trigger, input, triggered_by, created_at, definition, nodes)
            VALUES (\(bind: run.workflowId), \(bind: run.status.rawValue), \(bind: run.trigger.rawValue), \(bind: run.input?.text),
              \(bind: run.triggeredBy), \(bind: run.createdAt.millis), \(bind: try Database.json(definition)), \(bind: try Database.json(run.nodes)))
            RETURNING id
            """
        ).first(decodingColumn: "id", as: WorkflowRunID.self).required("the new workflow run's id")
    }

    /// The definition from memory when this store has read it before: only the run's state is read.
    func workflowRun(_ id: WorkflowRunID) async throws -> (run: WorkflowRun, definition: Workflow)? {
        let state = "id, workflow_id, status, trigger, input, triggered_by, created_at, finished_at, cancel_reason, nodes"
        guard let row = try await sql.raw("SELECT \(unsafeRaw: state) FROM workflow_runs WHERE id = \(bind: id)").first() else { return nil }
        let run = try Database.decodeWorkflowRun(row) { text in try definitions.nodes(of: id, text: text) }
        if let definition = definitions.definition(of: run) { return (run, definition) }
        guard
            let text = try await sql.raw("SELECT definition FROM workflow_runs WHERE id = \(bind: id)").first(
                decodingColumn: "definition",
                as: String.self
            )
        else { return nil }
        let definition = try Database.fromJSON(Workflow.self, text)
        definitions.remember(definition, of: run)
        return (run, definition)
    }

    func updateWorkflowRun(_ run: WorkflowRun) async throws {
        let nodes = try Database.json(run.nodes)
        try await sql.raw(
            """
            UPDATE workflow_runs SET status = \(bind: run.status.rawValue), finished_at = \(bind: run.finishedAt?.millis),
              cancel_reason = \(bind: run.cancelReason), nodes = \(bind: nodes)
            WHERE id = \(bind: run.id)
            """
        ).run()
        // Remembered for the next node's transaction, which reads this text back; a rollback
        // leaves another text in the row, which then is decoded. An ended run reads them no more.
        if run.status.isFinal {
            definitions.forgetNodes(of: run.id)
        } else {
            definitions.remember(nodes: run.nodes, text: nodes, of: run.id)
        }
    }

    func recordActions(
        of executionId: ExecutionID,
        firings: [ActionFiring],
        runs: [(position: Int, request: EnqueueRequest)],
        deliveries: [Delivery],
        now: Date
    ) async throws -> [ActionFiring] {
        try await Database.recordActions(of: executionId, firings: firings, runs: runs, deliveries: deliveries, now: now, in: sql)
    }

    func appendLogLines(executionId: ExecutionID, _ lines: [LogLine]) async throws {
        try await Database.insertLogLines(executionId: executionId, lines, in: sql)
    }

    func workflowRunIds(workflowId: WorkflowID, status: WorkflowRunStatus) async throws -> [WorkflowRunID] {
        try await sql.raw(
            "SELECT id FROM workflow_runs WHERE workflow_id = \(bind: workflowId) AND status = \(bind: status.rawValue) ORDER BY id"
        ).all(decodingColumn: "id", as: WorkflowRunID.self)
    }

    func recordWorkflowFire(_ occurrences: [WorkflowOccurrence], state: ScheduleState) async throws {
        if !occurrences.isEmpty {
            var query = SQLQueryString(
                "INSERT INTO workflow_ledger (workflow_id, scheduled_for, recorded_at, outcome, reason, workflow_run_id) VALUES "
            )
            query.appendRows(
                occurrences.lazy.map {
                    [$0.workflowId, $0.scheduledFor.millis, $0.recordedAt.millis, $0.outcome.rawValue, $0.reason, $0.workflowRunId]
                }
            )
            try await sql.raw(query).run()
        }
        try await Database.saveScheduleStates([state], in: sql)
    }

    func releaseHeldJob(eventId: EventID) async throws -> Bool {
        try await Database.releaseHeldJob(eventId: eventId, in: sql)
    }

    func requestCancel(ofRunning executionId: ExecutionID, reason: String) async throws -> Bool {
        try await sql.raw(
            "UPDATE executions SET cancel_reason = \(bind: reason) WHERE id = \(bind: executionId) AND status = 'RUNNING' AND cancel_reason IS NULL RETURNING id"
        ).first() != nil
    }

    func status(of executionId: ExecutionID) async throws -> ExecutionStatus? {
        try await sql.raw("SELECT status FROM executions WHERE id = \(bind: executionId)").first(decodingColumn: "status", as: ExecutionStatus.self)
    }
}

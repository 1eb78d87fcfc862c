import CroniumCore
import Foundation
import SQLKit

/// A queued run handed to a worker, with the lease that keeps other workers away from it.
public struct ClaimedJob: Sendable, Equatable {
    public var jobId: Int64
    public var executionId: ExecutionID
    public var eventId: EventID
}

/// A run that has just gone `RUNNING`, with the event as it was at that moment.
public struct StartedRun: Sendable {
    public var execution: Execution
    public var event: Event
    /// This run used the event's last allowed execution; the event is now paused.
    public var budgetUsedUp: Bool
}

/// What ``Database/finish(executionId:outcome:at:logBytes:logDroppedBytes:)`` did.
public struct FinishResult: Sendable, Equatable {
    /// False when the execution had already ended (for example cancelled while still queued).
    public var recorded: Bool
    /// A held run of the same event went to the queue: wake the dispatcher.
    public var releasedHeldRun: Bool

    public init(recorded: Bool, releasedHeldRun: Bool) {
        self.recorded = recorded
        self.releasedHeldRun = releasedHeldRun
    }
}

/// How one run ended, as ``Database/finishAndClaim(_:owner:limit:now:leaseUntil:)`` records it.
public struct RunEnd: Sendable {
    public var executionId: ExecutionID
    public var outcome: ExecutionOutcome
    public var finishedAt: Date
    public var logBytes: Int
    public var logDroppedBytes: Int
    /// The run's next attempt, when it failed and has retries left.
    public var retry: EnqueueRequest?

    public init(
        executionId: ExecutionID,
        outcome: ExecutionOutcome,
        finishedAt: Date,
        logBytes: Int,
        logDroppedBytes: Int,
        retry: EnqueueRequest? = nil
    ) {
        self.executionId = executionId
        self.outcome = outcome
        self.finishedAt = finishedAt
        self.logBytes = logBytes
        self.logDroppedBytes = logDroppedBytes
        self.retry = retry
    }
}

/// What ``Database/requestCancel(executionId:reason:at:)`` found.
public enum CancelRequest: Sendable, Equatable {
    /// It had not started; it is now `CANCELLED`.
    case cancelledWhileQueued(releasedHeldRun: Bool)
    /// It is running; the node running it must stop it.
    case running
    /// It had already ended, or does not exist.
    case ended
}

/// What a trigger asks to run.
public struct EnqueueRequest: Sendable {
    public var eventId: EventID
    public var trigger: ExecutionTrigger
    public var attempt: Int
    public var scheduledFor: Date?
    /// Not before this time (retries wait their backoff here).
    public var runAt: Date
    public var triggeredBy: UserID?
    /// Held jobs wait for the event's previous run to end (overlap policy `queue`).
    public var held: Bool
    /// JSON text the run reads with its `input()` helper.
    public var input: String?
    /// The run whose action asks for this one, and the length of the chain so far.
    public var parentExecutionId: ExecutionID?
    public var chainDepth: Int?

    public init(
        eventId: EventID,
        trigger: ExecutionTrigger,
        attempt: Int = 1,
        scheduledFor: Date? = nil,
        runAt: Date,
        triggeredBy: UserID? = nil,
        held: Bool = false,
        input: String? = nil,
        parentExecutionId: ExecutionID? = nil,
        chainDepth: Int? = nil
    ) {
        self.held = held
        self.input = input
        self.parentExecutionId = parentExecutionId
        self.chainDepth = chainDepth
        self.eventId = eventId
        self.trigger = trigger
        self.attempt = attempt
        self.scheduledFor = scheduledFor
        self.runAt = runAt
        self.triggeredBy = triggeredBy
    }
}

extension Database {
    /// Writes the execution (`PENDING`) and its job in the caller's transaction: nothing runs that
    /// was not recorded first.
    static func enqueue(_ request: EnqueueRequest, now: Date, in sql: any SQLDatabase) async throws -> ExecutionID {
        try await enqueue([request], now: now, in: sql).first.required("the new run's id")
    }

    /// Many runs in two statements (keep it to a thousand at a time); their ids in `requests`' order.
    static func enqueue(_ requests: [EnqueueRequest], now: Date, in sql: any SQLDatabase) async throws -> [ExecutionID] {
        guard !requests.isEmpty else { return [] }
        var executions = SQLQueryString(
            "INSERT INTO executions (event_id, status, trigger, attempt, scheduled_for, created_at, triggered_by, input, parent_execution_id, chain_depth) VALUES "
        )
        executions.appendRows(
            requests.lazy.map {
                [
                    $0.eventId, "PENDING", $0.trigger.rawValue, $0.attempt, $0.scheduledFor?.millis, now.millis, $0.triggeredBy, $0.input,
                    $0.parentExecutionId, $0.chainDepth,
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

    public func enqueue(_ request: EnqueueRequest, now: Date) async throws -> ExecutionID {
        try await transaction { sql in try await Self.enqueue(request, now: now, in: sql) }
    }

    /// Claims up to `limit` due jobs for `owner`, oldest first, leasing them until `leaseUntil`.
    private func claim(owner: String, limit: Int, now: Date, leaseUntil: Date, in sql: any SQLDatabase) async throws -> [ClaimedJob] {
        let skipLocked = SQLQueryString(dialect.skipLocked)
        return try await sql.raw(
            """
            UPDATE jobs SET state = 'claimed', lease_owner = \(bind: owner), lease_expires_at = \(bind: leaseUntil.millis)
            WHERE id IN (SELECT id FROM jobs WHERE state = 'queued' AND run_at <= \(bind: now.millis)
              ORDER BY run_at, id LIMIT \(bind: limit) \(skipLocked))
            RETURNING id, execution_id, event_id
            """
        ).all().map(Self.decodeClaimedJob).sorted { $0.jobId < $1.jobId }
    }

    /// Records how `ends` ended and claims up to `limit` due jobs, marking their runs `RUNNING`, in
    /// one transaction: the dispatcher's one write between runs, however many end and start
    /// together. A claimed job whose run cannot start (its execution ended meanwhile) is dropped.
    public func finishAndClaim(
        _ ends: [RunEnd],
        owner: String,
        limit: Int,
        now: Date,
        leaseUntil: Date
    ) async throws -> (finished: [FinishResult], started: [StartedRun]) {
        guard !ends.isEmpty || limit > 0 else { return ([], []) }
        return try await transaction { sql in
            var finished: [FinishResult] = []
            for end in ends {
                finished.append(try await Self.finish(end, onlyIfQueued: false, in: sql))
            }
            var started: [StartedRun] = []
            guard limit > 0 else { return (finished, started) }
            for job in try await self.claim(owner: owner, limit: limit, now: now, leaseUntil: leaseUntil, in: sql) {
                do {
                    if let execution = try await sql.raw(
                        "UPDATE executions SET status = 'RUNNING', started_at = \(bind: now.millis) WHERE id = \(bind: job.executionId) AND status = 'PENDING' RETURNING *"
                    ).first().map(Self.decodeExecution), let run = try await Self.start(execution, in: sql) {
                        started.append(run)
                        continue
                    }
                } catch let error as DecodingError {
                    // One unreadable row fails its own run, not the claim of every other one.
                    try await Self.failUnreadable(job, error: error, at: now, in: sql)
                    continue
                }
                try await sql.raw("DELETE FROM jobs WHERE id = \(bind: job.jobId)").run()
            }
            return (finished, started)
        }
    }

    /// Records a run and starts it at once, claimed by `owner`, in one transaction: the hand-off
    /// from a trigger straight to a free slot, with no queue in between.
    public func enqueueAndStart(_ request: EnqueueRequest, owner: String, now: Date, leaseUntil: Date) async throws -> StartedRun {
        try await transaction { sql in
            let execution = try await sql.raw(
                """
                INSERT INTO executions (event_id, status, trigger, attempt, scheduled_for, created_at, started_at, triggered_by, input,
                  parent_execution_id, chain_depth)
                VALUES (\(bind: request.eventId), 'RUNNING', \(bind: request.trigger.rawValue), \(bind: request.attempt),
                  \(bind: request.scheduledFor?.millis), \(bind: now.millis), \(bind: now.millis), \(bind: request.triggeredBy), \(bind: request.input),
                  \(bind: request.parentExecutionId), \(bind: request.chainDepth))
                RETURNING *
                """
            ).first().map(Self.decodeExecution).required("the new run")
            try await sql.raw(
                """
                INSERT INTO jobs (execution_id, event_id, state, run_at, created_at, lease_owner, lease_expires_at)
                VALUES (\(bind: execution.id), \(bind: request.eventId), 'claimed', \(bind: now.millis), \(bind: now.millis),
                  \(bind: owner), \(bind: leaseUntil.millis))
                """
            ).run()
            return try await Self.start(execution, in: sql).required("the run's event")
        }
    }

    /// Ends a claimed run whose execution or event row cannot be decoded (written by a newer
    /// version, or damaged), with the reason, and releases a held run of its event.
    private static func failUnreadable(_ job: ClaimedJob, error: DecodingError, at time: Date, in sql: any SQLDatabase) async throws {
        let message = "the run could not start: its stored event or run could not be read (\(describe(error)))"
        try await sql.raw(
            """
            UPDATE executions SET status = 'FAILURE', error = \(bind: message), error_code = \(bind: ExecutionErrorCode.startFailed.rawValue),
              started_at = COALESCE(started_at, \(bind: time.millis)), finished_at = \(bind: time.millis)
            WHERE id = \(bind: job.executionId)
            """
        ).run()
        try await sql.raw("DELETE FROM jobs WHERE id = \(bind: job.jobId)").run()
        _ = try await releaseHeldJob(eventId: job.eventId, in: sql)
    }

    /// Where a row failed to decode, without its values.
    private static func describe(_ error: DecodingError) -> String {
        let context: DecodingError.Context? =
            switch error {
            case .typeMismatch(_, let context), .valueNotFound(_, let context), .keyNotFound(_, let context), .dataCorrupted(let context): context
            @unknown default: nil
            }
        let path = context?.codingPath.map(\.stringValue).joined(separator: ".") ?? ""
        return path.isEmpty ? "malformed data" : "at \(path)"
    }

    /// Jobs waiting to be claimed (due or not, held ones included).
    public func queuedJobCount() async throws -> Int {
        try await read { sql in
            try await sql.raw("SELECT COUNT(*) AS n FROM jobs WHERE state IN ('queued', 'held')").first(decodingColumn: "n", as: Int.self) ?? 0
        }
    }

    /// The earliest time a queued job becomes due, so the dispatcher can sleep exactly until then.
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

    /// Part of starting a run that has just gone `RUNNING`: a first attempt counts against the
    /// event's budget, and the event is paused when the budget is used up. Nil when its event is
    /// gone.
    private static func start(_ execution: Execution, in sql: any SQLDatabase) async throws -> StartedRun? {
        // The count's update also reads the event: one statement instead of two.
        let counted = execution.attempt == 1
        let eventQuery: SQLQueryString =
            counted
            ? "UPDATE events SET execution_count = execution_count + 1 WHERE id = \(bind: execution.eventId) RETURNING *"
            : "SELECT * FROM events WHERE id = \(bind: execution.eventId)"
        guard let event = try await sql.raw(eventQuery).first().map(Self.decodeEvent) else { return nil }
        var budgetUsedUp = false
        if counted, event.maxExecutions > 0, event.executionCount >= event.maxExecutions, event.status == .active {
            try await sql.raw("UPDATE events SET status = 'PAUSED' WHERE id = \(bind: event.id)").run()
            budgetUsedUp = true
        }
        return StartedRun(execution: execution, event: event, budgetUsedUp: budgetUsedUp)
    }

    /// Records how a run ended and removes its job, and in the same transaction enqueues its
    /// `retry` (if any) and lets the event's oldest held run (overlap policy `queue`) go to the
    /// queue once nothing else of the event is queued or running; a retry is part of the same
    /// run, so it goes before the held one. Every way a run ends comes through here (finished,
    /// cancelled while queued, recovered after a crash), so a held run is never left waiting for a
    /// run that ended. With `onlyIfQueued`, a run that has been claimed is left alone.
    @discardableResult
    public func finish(
        executionId: ExecutionID,
        outcome: ExecutionOutcome,
        at time: Date,
        logBytes: Int,
        logDroppedBytes: Int,
        retry: EnqueueRequest? = nil
    ) async throws -> FinishResult {
        let end = RunEnd(
            executionId: executionId,
            outcome: outcome,
            finishedAt: time,
            logBytes: logBytes,
            logDroppedBytes: logDroppedBytes,
            retry: retry
        )
        return try await transaction { sql in try await Self.finish(end, onlyIfQueued: false, in: sql) }
    }

    private static func finish(_ end: RunEnd, onlyIfQueued: Bool, in sql: any SQLDatabase) async throws -> FinishResult {
        let (outcome, time, executionId) = (end.outcome, end.finishedAt, end.executionId)
        let endable = SQLQueryString(onlyIfQueued ? "('PENDING')" : "('PENDING', 'RUNNING')")
        let eventId = try await sql.raw(
            """
            UPDATE executions SET status = \(bind: outcome.status.rawValue), finished_at = \(bind: time.millis),
              started_at = COALESCE(started_at, \(bind: time.millis)), exit_code = \(bind: outcome.exitCode),
              output = \(bind: outcome.output), error = \(bind: outcome.error?.message),
              error_code = \(bind: outcome.error?.code.rawValue), output_value = \(bind: outcome.outputValue),
              condition = \(bind: outcome.condition), log_bytes = \(bind: end.logBytes),
              log_dropped_bytes = \(bind: end.logDroppedBytes)
            WHERE id = \(bind: executionId) AND status IN \(endable)
            RETURNING event_id
            """
        ).first(decodingColumn: "event_id", as: EventID.self)
        // A claimed run is marked RUNNING in the claim's own transaction, so "still PENDING"
        // means "not claimed", and a claimed run's job is not touched here.
        if eventId != nil || !onlyIfQueued {
            try await sql.raw("DELETE FROM jobs WHERE execution_id = \(bind: executionId)").run()
        }
        guard let eventId else { return FinishResult(recorded: false, releasedHeldRun: false) }
        if let retry = end.retry { _ = try await Self.enqueue(retry, now: time, in: sql) }
        return FinishResult(recorded: true, releasedHeldRun: try await Self.releaseHeldJob(eventId: eventId, in: sql))
    }

    /// Records that someone wants a run to stop. A queued run ends `CANCELLED` here and now; a
    /// running one keeps the request (and its reason) for the node that runs it.
    public func requestCancel(executionId: ExecutionID, reason: String, at time: Date) async throws -> CancelRequest {
        try await transaction { sql in
            if try await sql.raw(
                "UPDATE executions SET cancel_reason = \(bind: reason) WHERE id = \(bind: executionId) AND status = 'RUNNING' AND cancel_reason IS NULL RETURNING id"
            ).first() != nil {
                return .running
            }
            let queued = try await Self.finish(
                RunEnd(
                    executionId: executionId,
                    outcome: .failure(.cancelled, reason, status: .cancelled),
                    finishedAt: time,
                    logBytes: 0,
                    logDroppedBytes: 0
                ),
                onlyIfQueued: true,
                in: sql
            )
            if queued.recorded { return .cancelledWhileQueued(releasedHeldRun: queued.releasedHeldRun) }
            let status = try await sql.raw("SELECT status FROM executions WHERE id = \(bind: executionId)")
                .first(decodingColumn: "status", as: ExecutionStatus.self)
            // A second cancel of a run that is stopping is not an error: it is on its way.
            return status == .running ? .running : .ended
        }
    }

    /// Claimed jobs that no live node holds: at start-up on SQLite (one server per data
    /// directory) every claimed job; otherwise those whose lease ran out.
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
    /// queued or running. Returns true when one was released.
    static func releaseHeldJob(eventId: EventID, in sql: any SQLDatabase) async throws -> Bool {
        !(try await sql.raw(
            """
            UPDATE jobs SET state = 'queued' WHERE id = (SELECT MIN(id) FROM jobs WHERE event_id = \(bind: eventId) AND state = 'held')
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

import CroniumCore
import CroniumStore
import Foundation

/// The queue's rules, each applied in one transaction of the store's queue: a run's first attempt
/// counts against its event's budget and pauses the event when that is used up; every way a run
/// ends (finished, cancelled while queued, recovered after a crash) records it, enqueues its
/// retry, then lets the event's oldest held run (overlap policy `queue`) go once nothing else of
/// the event is queued or running, so a held run never waits for a run that ended.
public struct RunQueue: Sendable {
    let queue: any JobQueue

    public init(queue: any JobQueue) { self.queue = queue }

    /// Records `ends` and claims up to `limit` due jobs for `owner`, marking their runs `RUNNING`,
    /// in one transaction: the dispatcher's one write between runs, however many end and start
    /// together. A claimed job whose run cannot start (it ended meanwhile) is dropped; one whose
    /// rows cannot be read fails its own run, not the claim of every other one.
    public func finishAndClaim(_ ends: [RunEnd], owner: String, limit: Int, now: Date, leaseUntil: Date) async throws -> (
        finished: [FinishResult], started: [StartedRun]
    ) {
        guard !ends.isEmpty || limit > 0 else { return ([], []) }
        return try await queue.withQueueTransaction { tx in
            var finished: [FinishResult] = []
            for end in ends { finished.append(try await Self.finish(end, onlyIfQueued: false, in: tx)) }
            var started: [StartedRun] = []
            guard limit > 0 else { return (finished, started) }
            for job in try await tx.claim(owner: owner, limit: limit, now: now, leaseUntil: leaseUntil) {
                do {
                    if let execution = try await tx.markRunning(job, at: now), let run = try await Self.start(execution, in: tx) {
                        started.append(run)
                        continue
                    }
                } catch let error as DecodingError {
                    let reason = "the run could not start: its stored event or run could not be read (\(Self.describe(error)))"
                    let end = RunEnd(
                        executionId: job.executionId,
                        outcome: .failure(.startFailed, reason),
                        finishedAt: now,
                        logBytes: 0,
                        logDroppedBytes: 0
                    )
                    _ = try await Self.finish(end, onlyIfQueued: false, in: tx)
                    continue
                }
                try await tx.dropJob(job.jobId)
            }
            return (finished, started)
        }
    }

    /// Records a run and starts it at once, claimed by `owner`, in one transaction: the hand-off
    /// from a trigger straight to a free slot, with no queue in between.
    public func enqueueAndStart(_ request: EnqueueRequest, owner: String, now: Date, leaseUntil: Date) async throws -> StartedRun {
        try await queue.withQueueTransaction { tx in
            let execution = try await tx.insertRunning(request, owner: owner, now: now, leaseUntil: leaseUntil)
            guard let run = try await Self.start(execution, in: tx) else { throw StoreFailure(.missingRow, "the run's event is gone") }
            return run
        }
    }

    /// Records how a run ended (see ``finish(_:onlyIfQueued:in:)``).
    @discardableResult
    public func finish(_ end: RunEnd) async throws -> FinishResult {
        try await queue.withQueueTransaction { tx in try await Self.finish(end, onlyIfQueued: false, in: tx) }
    }

    /// Records that someone wants a run to stop. A queued run ends `CANCELLED` here and now; a
    /// running one keeps the request (and its reason) for the node that runs it.
    public func requestCancel(executionId: ExecutionID, reason: String, at time: Date) async throws -> CancelRequest {
        try await queue.withQueueTransaction { tx in
            if try await tx.requestCancel(ofRunning: executionId, reason: reason) { return .running }
            let cancelled = RunEnd(
                executionId: executionId,
                outcome: .failure(.cancelled, reason, status: .cancelled),
                finishedAt: time,
                logBytes: 0,
                logDroppedBytes: 0
            )
            let queued = try await Self.finish(cancelled, onlyIfQueued: true, in: tx)
            if queued.recorded { return .cancelledWhileQueued(releasedHeldRun: queued.releasedHeldRun) }
            // A second cancel of a run that is stopping is not an error: it is on its way.
            return try await tx.status(of: executionId) == .running ? .running : .ended
        }
    }

    /// A run that has just gone `RUNNING`: a first attempt counts against the event's budget, and
    /// the event is paused when the budget is used up. A workflow node's run gets the event as the
    /// node runs it (its placement, timeout and retries over the event's). Nil when its event is gone.
    private static func start(_ execution: Execution, in tx: any QueueTransaction) async throws -> StartedRun? {
        let counted = execution.attempt == 1
        guard var event = try await tx.event(startingRunOf: execution.eventId, counting: counted) else { return nil }
        var budgetUsedUp = false
        if counted, event.maxExecutions > 0, event.executionCount >= event.maxExecutions, event.status == .active {
            try await tx.pause(eventId: event.id)
            budgetUsedUp = true
        }
        var place: WorkflowPlace?
        if let runId = execution.workflowRunId, let key = execution.workflowNode, let definition = try await tx.workflowRun(runId)?.definition,
            let node = definition.graph.node(key)
        {
            event = node.applied(to: event)
            place = WorkflowPlace(id: definition.id, name: definition.name, runId: runId, node: key)
        }
        return StartedRun(execution: execution, event: event, budgetUsedUp: budgetUsedUp, workflow: place)
    }

    /// Records the end, then enqueues the retry (part of the same run, so it goes before a held
    /// run), then releases the event's held run. With `onlyIfQueued`, a claimed run is left alone.
    private static func finish(_ end: RunEnd, onlyIfQueued: Bool, in tx: any QueueTransaction) async throws -> FinishResult {
        // The run's last lines go with its end: one transaction, and the log is whole when the run reads as ended.
        if !end.logLines.isEmpty { try await tx.appendLogLines(executionId: end.executionId, end.logLines) }
        guard let recorded = try await tx.recordEnd(end, onlyIfQueued: onlyIfQueued) else {
            return FinishResult(recorded: false, releasedHeldRun: false)
        }
        if let retry = end.retry { _ = try await tx.enqueue([retry], now: end.finishedAt) }
        let released = try await tx.releaseHeldJob(eventId: recorded.eventId)
        // A node that is tried again has not ended for good.
        guard end.retry == nil, let runId = recorded.workflowRunId, let key = recorded.workflowNode else {
            return FinishResult(recorded: true, releasedHeldRun: released)
        }
        let queued = try await advance(runId, node: key, after: end, in: tx)
        return FinishResult(recorded: true, releasedHeldRun: released || queued)
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
}

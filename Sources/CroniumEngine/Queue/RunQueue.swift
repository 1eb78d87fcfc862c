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
        if let runId = execution.workflowRunId, let key = execution.workflowNode,
            let node = try await tx.workflowRun(runId)?.definition.graph.node(key)
        {
            event = node.applied(to: event)
        }
        return StartedRun(execution: execution, event: event, budgetUsedUp: budgetUsedUp)
    }

    /// Starts a run of `workflow`: the run and its roots' executions in one transaction. Returns
    /// the run's id.
    public func startWorkflow(_ workflow: Workflow, trigger: WorkflowTrigger, input: JSONValue?, triggeredBy: UserID?, now: Date) async throws
        -> WorkflowRunID
    {
        try await queue.withQueueTransaction { tx in
            var progress = WorkflowProgress(graph: workflow.graph)
            let step = progress.begin()
            var run = WorkflowRun(
                id: 0,
                workflowId: workflow.id,
                status: .running,
                trigger: trigger,
                input: input,
                triggeredBy: triggeredBy,
                createdAt: now,
                nodes: workflow.nodes.map { WorkflowRunNode(key: $0.key, state: .pending) }
            )
            run.id = try await tx.insertWorkflowRun(run, definition: workflow)
            try await Self.apply(step, of: progress, to: &run, definition: workflow, now: now, in: tx)
            return run.id
        }
    }

    /// Cancels a workflow run: its nodes not started are cancelled, and the executions of those
    /// under way are returned, for the engine to stop (their ends finish the run). A run with
    /// nothing under way ends `CANCELLED` at once. Nil when the run is not running.
    public func cancelWorkflow(_ runId: WorkflowRunID, reason: String, now: Date) async throws -> [ExecutionID]? {
        try await queue.withQueueTransaction { tx in
            guard let (stored, definition) = try await tx.workflowRun(runId), stored.status == .running else { return nil }
            var run = stored
            var progress = run.progress(of: definition)
            let running = Set(progress.cancel())
            run.cancelReason = reason
            try await Self.apply(WorkflowProgress.Step(), of: progress, to: &run, definition: definition, now: now, in: tx)
            return run.nodes.filter { running.contains($0.key) }.compactMap(\.executionId)
        }
    }

    /// A workflow node's run ended for good: the nodes it decides start (queued in this same
    /// transaction, so a crash between the two is impossible) or are skipped, and the workflow
    /// run ends when nothing is left. True when runs were queued.
    private static func advance(_ runId: WorkflowRunID, node key: String, after end: RunEnd, in tx: any QueueTransaction) async throws -> Bool {
        guard let (stored, definition) = try await tx.workflowRun(runId), stored.status == .running else { return false }
        var run = stored
        var progress = run.progress(of: definition)
        let step = progress.end(key, status: end.outcome.status, condition: end.outcome.condition)
        if let index = run.nodes.firstIndex(where: { $0.key == key }) {
            run.nodes[index].output = end.outcome.outputValue.flatMap(JSONValue.init(text:))
            run.nodes[index].finishedAt = end.finishedAt
        }
        try await apply(step, of: progress, to: &run, definition: definition, now: end.finishedAt, in: tx)
        return !step.start.isEmpty
    }

    /// Writes `progress` into `run`: the nodes it starts queued with their inputs, the skipped
    /// with why, the run's status and end when it is over.
    private static func apply(
        _ step: WorkflowProgress.Step,
        of progress: WorkflowProgress,
        to run: inout WorkflowRun,
        definition: Workflow,
        now: Date,
        in tx: any QueueTransaction
    ) async throws {
        let outputs = Dictionary(uniqueKeysWithValues: run.nodes.compactMap { node in node.output.map { (node.key, $0) } })
        let requests = step.start.compactMap { key -> EnqueueRequest? in
            guard let eventId = definition.graph.node(key)?.eventId else { return nil }
            return EnqueueRequest(
                eventId: eventId,
                trigger: .workflow,
                runAt: now,
                triggeredBy: run.triggeredBy,
                input: progress.input(for: key, trigger: run.input, outputs: outputs)?.text,
                workflowRunId: run.id,
                workflowNode: key
            )
        }
        let ids = try await tx.enqueue(requests, now: now)
        let started = Dictionary(uniqueKeysWithValues: zip(requests.compactMap(\.workflowNode), ids))
        for index in run.nodes.indices {
            let key = run.nodes[index].key
            run.nodes[index].state = progress.state(of: key)
            if let id = started[key] { (run.nodes[index].executionId, run.nodes[index].startedAt) = (id, now) }
            if step.skipped.contains(where: { $0.key == key }) { run.nodes[index].finishedAt = now }
            if case .cancelled = run.nodes[index].state, run.nodes[index].finishedAt == nil { run.nodes[index].finishedAt = now }
        }
        if progress.isFinished {
            run.status = progress.status
            run.finishedAt = now
        }
        try await tx.updateWorkflowRun(run)
    }

    /// Records the end, then enqueues the retry (part of the same run, so it goes before a held
    /// run), then releases the event's held run. With `onlyIfQueued`, a claimed run is left alone.
    private static func finish(_ end: RunEnd, onlyIfQueued: Bool, in tx: any QueueTransaction) async throws -> FinishResult {
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

import CroniumCore
import CroniumStore
import Foundation

/// The queue's rules for workflow runs, each in one transaction: a run begins (its roots queued
/// with it), a node's end decides its successors, a cancel, a scheduled fire under the
/// workflow's overlap policy. A run that ends lets the workflow's oldest `QUEUED` run begin.
extension RunQueue {
    /// What a trigger did under the workflow's overlap policy.
    public struct WorkflowStart: Sendable, Equatable {
        /// The run started or queued; nil when the policy skipped the trigger.
        public var runId: WorkflowRunID?
        public var status: WorkflowRunStatus?
        /// Executions of the runs it replaced (policy `replace`), for the engine to stop.
        public var toStop: [ExecutionID] = []
    }

    /// Starts a run of `workflow` at once, whatever else is going (a run asked for by hand).
    public func startWorkflow(_ workflow: Workflow, trigger: WorkflowTrigger, input: JSONValue?, triggeredBy: UserID?, now: Date) async throws
        -> WorkflowRunID
    {
        try await queue.withQueueTransaction { tx in
            try await Self.insertRun(of: workflow, trigger: trigger, input: input, triggeredBy: triggeredBy, held: false, now: now, in: tx)
        }
    }

    /// Starts a run of `workflow` under its overlap policy (a webhook's delivery): with a run
    /// going, `skip` starts nothing, `queue` queues the run behind it, `replace` cancels it.
    public func triggerWorkflow(_ workflow: Workflow, trigger: WorkflowTrigger, input: JSONValue?, now: Date) async throws -> WorkflowStart {
        try await queue.withQueueTransaction { tx in
            try await Self.trigger(workflow, trigger: trigger, input: input, triggeredBy: nil, now: now, in: tx)
        }
    }

    /// A workflow a `RUN_WORKFLOW` action starts, with the ended run's output as its input.
    public struct ActionStart: Sendable {
        public var position: Int
        public var workflow: Workflow
        public var input: JSONValue?
    }

    /// Records what a run's end set off in one transaction: the workflows its `RUN_WORKFLOW`
    /// actions start (under each one's overlap policy; a skipped start is a failed firing, with
    /// why), the runs and messages it asked for, every firing. Returns the firings and the
    /// executions of runs replaced, to stop.
    func recordActions(
        of executionId: ExecutionID,
        firings: [ActionFiring],
        runs: [(position: Int, request: EnqueueRequest)],
        deliveries: [Delivery],
        workflows: [ActionStart],
        triggeredBy: UserID?,
        now: Date
    ) async throws -> (firings: [ActionFiring], toStop: [ExecutionID]) {
        try await queue.withQueueTransaction { tx in
            var firings = firings
            var toStop: [ExecutionID] = []
            for start in workflows {
                guard let index = firings.firstIndex(where: { $0.position == start.position }) else { continue }
                let started = try await Self.trigger(start.workflow, trigger: .action, input: start.input, triggeredBy: triggeredBy, now: now, in: tx)
                if let runId = started.runId {
                    firings[index].workflowRunId = runId
                } else {
                    firings[index].status = .failed
                    firings[index].error = "workflow \(start.workflow.id)'s previous run was still going (overlap policy skip)"
                }
                toStop += started.toStop
            }
            let recorded = try await tx.recordActions(of: executionId, firings: firings, runs: runs, deliveries: deliveries, now: now)
            return (recorded, toStop)
        }
    }

    private static func trigger(
        _ workflow: Workflow,
        trigger: WorkflowTrigger,
        input: JSONValue?,
        triggeredBy: UserID?,
        now: Date,
        in tx: any QueueTransaction
    ) async throws -> WorkflowStart {
        let going = try await going(workflow.id, in: tx)
        let policy = workflow.effectiveOverlap
        if !going.isEmpty && policy == .skip { return WorkflowStart() }
        let toStop = policy == .replace ? try await cancel(going, reason: replaced, now: now, in: tx) : []
        let held = !going.isEmpty && policy == .queue
        let id = try await insertRun(of: workflow, trigger: trigger, input: input, triggeredBy: triggeredBy, held: held, now: now, in: tx)
        return WorkflowStart(runId: id, status: held ? .queued : .running, toStop: toStop)
    }

    /// Records a scheduled workflow's fire in one transaction: a ledger row per occurrence, the
    /// runs the overlap policy lets start (or queue), where its timetable goes next. Returns the
    /// executions of the runs it replaced, to stop.
    func recordWorkflowFire(_ workflow: Workflow, fire: ScheduleFire, now: Date) async throws -> [ExecutionID] {
        try await queue.withQueueTransaction { tx in
            let going = try await Self.going(workflow.id, in: tx)
            var toStop: [ExecutionID] = []
            var rows: [WorkflowOccurrence] = []
            for decision in ScheduleRecorder.decide(fire, busy: !going.isEmpty) {
                var row = WorkflowOccurrence(
                    workflowId: workflow.id,
                    scheduledFor: decision.scheduledFor,
                    recordedAt: now,
                    outcome: decision.outcome,
                    reason: decision.reason
                )
                if decision.runs {
                    if decision.outcome == .replaced && toStop.isEmpty {
                        toStop = try await Self.cancel(going, reason: Self.replaced, now: now, in: tx)
                    }
                    row.workflowRunId = try await Self.insertRun(
                        of: workflow,
                        trigger: .schedule,
                        input: nil,
                        triggeredBy: nil,
                        held: decision.held,
                        now: now,
                        in: tx
                    )
                }
                rows.append(row)
            }
            try await tx.recordWorkflowFire(rows, state: fire.state)
            return toStop
        }
    }

    /// Cancels a workflow run: its nodes not started are cancelled, and the executions of those
    /// under way are returned, for the engine to stop (their ends finish the run). A run with
    /// nothing under way (a queued one too) ends `CANCELLED` at once. Nil when the run has ended.
    public func cancelWorkflow(_ runId: WorkflowRunID, reason: String, now: Date) async throws -> [ExecutionID]? {
        try await queue.withQueueTransaction { tx in
            guard let (run, _) = try await tx.workflowRun(runId), run.status == .running || run.status == .queued else { return nil }
            return try await Self.cancel([runId], reason: reason, now: now, in: tx)
        }
    }

    private static let replaced = "replaced by a newer run (overlap policy replace)"

    /// The workflow's runs going or waiting.
    private static func going(_ workflowId: WorkflowID, in tx: any QueueTransaction) async throws -> [WorkflowRunID] {
        try await tx.workflowRunIds(workflowId: workflowId, status: .running) + tx.workflowRunIds(workflowId: workflowId, status: .queued)
    }

    private static func cancel(_ runIds: [WorkflowRunID], reason: String, now: Date, in tx: any QueueTransaction) async throws -> [ExecutionID] {
        var toStop: [ExecutionID] = []
        for runId in runIds {
            guard let (stored, definition) = try await tx.workflowRun(runId) else { continue }
            var run = stored
            var progress = run.progress(of: definition)
            let running = Set(progress.cancel())
            run.cancelReason = reason
            try await apply(WorkflowProgress.Step(), of: progress, to: &run, definition: definition, now: now, in: tx)
            toStop += run.nodes.filter { running.contains($0.key) }.compactMap(\.executionId)
        }
        return toStop
    }

    /// Writes a new run: begun (its roots queued), or `QUEUED` behind the workflow's run going.
    private static func insertRun(
        of workflow: Workflow,
        trigger: WorkflowTrigger,
        input: JSONValue?,
        triggeredBy: UserID?,
        held: Bool,
        now: Date,
        in tx: any QueueTransaction
    ) async throws -> WorkflowRunID {
        var run = WorkflowRun(
            id: 0,
            workflowId: workflow.id,
            status: held ? .queued : .running,
            trigger: trigger,
            input: input,
            triggeredBy: triggeredBy,
            createdAt: now,
            nodes: workflow.nodes.map { WorkflowRunNode(key: $0.key, state: .pending) }
        )
        run.id = try await tx.insertWorkflowRun(run, definition: workflow)
        if !held { try await begin(&run, definition: workflow, now: now, in: tx) }
        return run.id
    }

    private static func begin(_ run: inout WorkflowRun, definition: Workflow, now: Date, in tx: any QueueTransaction) async throws {
        var progress = run.progress(of: definition)
        let step = progress.begin()
        run.status = .running
        try await apply(step, of: progress, to: &run, definition: definition, now: now, in: tx)
    }

    /// A workflow node's run ended for good: the nodes it decides start (queued in this same
    /// transaction, so a crash between the two is impossible) or are skipped, and the workflow
    /// run ends when nothing is left. True when runs were queued.
    static func advance(_ runId: WorkflowRunID, node key: String, after end: RunEnd, in tx: any QueueTransaction) async throws -> Bool {
        guard let (stored, definition) = try await tx.workflowRun(runId), stored.status == .running else { return false }
        var run = stored
        var progress = run.progress(of: definition)
        let step = progress.end(key, status: end.outcome.status, condition: end.outcome.condition)
        if let index = run.nodes.firstIndex(where: { $0.key == key }) {
            run.nodes[index].output = end.outcome.outputValue.flatMap(JSONValue.init(text:))
            run.nodes[index].finishedAt = end.finishedAt
        }
        return try await apply(step, of: progress, to: &run, definition: definition, now: end.finishedAt, in: tx)
    }

    /// Writes `progress` into `run`: the nodes it starts queued with their inputs, the skipped
    /// with why, the run's status and end when it is over; then, when it ended, the workflow's
    /// oldest queued run begins if nothing else of it is running. True when runs were queued.
    @discardableResult
    private static func apply(
        _ step: WorkflowProgress.Step,
        of progress: WorkflowProgress,
        to run: inout WorkflowRun,
        definition: Workflow,
        now: Date,
        in tx: any QueueTransaction
    ) async throws -> Bool {
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
        guard progress.isFinished else {
            try await tx.updateWorkflowRun(run)
            return !ids.isEmpty
        }
        run.status = progress.status
        run.finishedAt = now
        try await tx.updateWorkflowRun(run)
        return try await beginQueued(run.workflowId, now: now, in: tx) || !ids.isEmpty
    }

    /// The workflow's oldest queued run begins, when none of its runs is running.
    private static func beginQueued(_ workflowId: WorkflowID, now: Date, in tx: any QueueTransaction) async throws -> Bool {
        guard try await tx.workflowRunIds(workflowId: workflowId, status: .running).isEmpty,
            let next = try await tx.workflowRunIds(workflowId: workflowId, status: .queued).first,
            let (stored, definition) = try await tx.workflowRun(next)
        else { return false }
        var run = stored
        try await begin(&run, definition: definition, now: now, in: tx)
        return true
    }
}

import CroniumCore
import Foundation

/// The queue of runs, as a store keeps it: jobs (queued, held, claimed with a lease) beside their
/// executions. The rules over it (a run counts against its event's budget, a held run goes to the
/// queue when its event's run ends, a retry before it) are the engine's (`RunQueue`): the store
/// gives it a transaction and the steps to take inside it (``QueueTransaction``). A transaction is
/// one connection's, so a store with a pool of connections serves several at once.
public protocol JobQueue: Sendable {
    /// Runs `body` in one write transaction; anything it throws rolls everything back.
    func withQueueTransaction<T: Sendable>(_ body: @Sendable (any QueueTransaction) async throws -> T) async throws -> T
    /// Jobs waiting to be claimed (due or not, held ones included).
    func queuedJobCount() async throws -> Int
    /// The earliest time a queued job becomes due, so the dispatcher can sleep exactly until then.
    func nextDueTime() async throws -> Date?
    func renewLeases(owner: String, until: Date) async throws
    /// Claimed jobs that no live node holds: at start-up on a database one server owns, every
    /// claimed job; otherwise those whose lease ran out.
    func orphanedJobs(atStartup: Bool, now: Date) async throws -> [ClaimedJob]
}

/// The steps of the queue's rules, inside one transaction.
public protocol QueueTransaction: Sendable {
    /// Writes the executions (`PENDING`) and their jobs; their ids in `requests`' order.
    func enqueue(_ requests: [EnqueueRequest], now: Date) async throws -> [ExecutionID]
    /// Claims up to `limit` due jobs for `owner`, oldest first, leasing them until `leaseUntil`.
    func claim(owner: String, limit: Int, now: Date, leaseUntil: Date) async throws -> [ClaimedJob]
    /// Marks a claimed job's run `RUNNING`; nil when it is no longer `PENDING` (it ended meanwhile).
    /// Throws `DecodingError` for a row it cannot read.
    func markRunning(_ job: ClaimedJob, at time: Date) async throws -> Execution?
    /// Records a run already `RUNNING`, its job claimed by `owner`: a trigger's hand-off to a free slot.
    func insertRunning(_ request: EnqueueRequest, owner: String, now: Date, leaseUntil: Date) async throws -> Execution
    /// The event of a run that starts, its execution count raised by one when `counting`; nil
    /// when the event is gone.
    func event(startingRunOf eventId: EventID, counting: Bool) async throws -> Event?
    func pause(eventId: EventID) async throws
    /// Removes a job whose run will not start.
    func dropJob(_ jobId: Int64) async throws
    /// Stores a run's log lines.
    func appendLogLines(executionId: ExecutionID, _ lines: [LogLine]) async throws
    /// Records how a run ended and removes its job; returns what the end leads on to (its event,
    /// its workflow node), or nil when it had ended already (or, with `onlyIfQueued`, when it has
    /// been claimed: then its job stays).
    func recordEnd(_ end: RunEnd, onlyIfQueued: Bool) async throws -> RecordedEnd?
    /// Writes a new workflow run (its nodes as they start) and returns its id.
    func insertWorkflowRun(_ run: WorkflowRun, definition: Workflow) async throws -> WorkflowRunID
    /// A workflow run and the definition it started with.
    func workflowRun(_ id: WorkflowRunID) async throws -> (run: WorkflowRun, definition: Workflow)?
    /// Writes a run's status, end, cancel request and nodes.
    func updateWorkflowRun(_ run: WorkflowRun) async throws
    /// Records what a run's end set off (its firings, the workflow runs already begun named in
    /// them), and queues the runs and the messages it asked for.
    func recordActions(
        of executionId: ExecutionID,
        firings: [ActionFiring],
        runs: [(position: Int, request: EnqueueRequest)],
        deliveries: [Delivery],
        now: Date
    ) async throws -> [ActionFiring]
    /// A workflow's runs with `status`, oldest first.
    func workflowRunIds(workflowId: WorkflowID, status: WorkflowRunStatus) async throws -> [WorkflowRunID]
    /// Writes a scheduled workflow's ledger rows and where its timetable goes next.
    func recordWorkflowFire(_ occurrences: [WorkflowOccurrence], state: ScheduleState) async throws
    /// Lets the oldest held job of an event go to the queue when nothing else of the event is
    /// queued or running. True when one went.
    func releaseHeldJob(eventId: EventID) async throws -> Bool
    /// Notes a cancel request on a running run, for the node that runs it; false when the run is
    /// not running or was asked already.
    func requestCancel(ofRunning executionId: ExecutionID, reason: String) async throws -> Bool
    func status(of executionId: ExecutionID) async throws -> ExecutionStatus?
}

/// A run's recorded end, and what it leads on to.
public struct RecordedEnd: Sendable, Equatable {
    public var eventId: EventID
    public var workflowRunId: WorkflowRunID?
    public var workflowNode: String?

    public init(eventId: EventID, workflowRunId: WorkflowRunID? = nil, workflowNode: String? = nil) {
        self.eventId = eventId
        self.workflowRunId = workflowRunId
        self.workflowNode = workflowNode
    }
}

extension JobQueue {
    /// Records one run (`PENDING`) and its job.
    public func enqueue(_ request: EnqueueRequest, now: Date) async throws -> ExecutionID {
        try await withQueueTransaction { try await $0.enqueue([request], now: now) }.first.required("the new run's id")
    }
}

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
    /// A workflow node's run: its workflow (as the run started it), run and node.
    public var workflow: WorkflowPlace?

    public init(execution: Execution, event: Event, budgetUsedUp: Bool, workflow: WorkflowPlace? = nil) {
        self.execution = execution
        self.event = event
        self.budgetUsedUp = budgetUsedUp
        self.workflow = workflow
    }
}

/// What recording a run's end did.
public struct FinishResult: Sendable, Equatable {
    /// False when the execution had already ended (for example cancelled while still queued).
    public var recorded: Bool
    /// A held run of the same event, or a workflow's next nodes, went to the queue: wake the dispatcher.
    public var releasedHeldRun: Bool

    public init(recorded: Bool, releasedHeldRun: Bool) {
        self.recorded = recorded
        self.releasedHeldRun = releasedHeldRun
    }
}

/// How one run ended, as the queue records it.
public struct RunEnd: Sendable {
    public var executionId: ExecutionID
    public var outcome: ExecutionOutcome
    public var finishedAt: Date
    public var logBytes: Int
    public var logDroppedBytes: Int
    /// The run's next attempt, when it failed and has retries left.
    public var retry: EnqueueRequest?
    /// The run's last log lines, not written yet: stored with the end, in its transaction.
    public var logLines: [LogLine]

    public init(
        executionId: ExecutionID,
        outcome: ExecutionOutcome,
        finishedAt: Date,
        logBytes: Int,
        logDroppedBytes: Int,
        retry: EnqueueRequest? = nil,
        logLines: [LogLine] = []
    ) {
        self.executionId = executionId
        self.outcome = outcome
        self.finishedAt = finishedAt
        self.logBytes = logBytes
        self.logDroppedBytes = logDroppedBytes
        self.retry = retry
        self.logLines = logLines
    }
}

/// What a cancel request found.
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
    /// A workflow node's run: its workflow run and node key.
    public var workflowRunId: WorkflowRunID?
    public var workflowNode: String?

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
        chainDepth: Int? = nil,
        workflowRunId: WorkflowRunID? = nil,
        workflowNode: String? = nil
    ) {
        self.workflowRunId = workflowRunId
        self.workflowNode = workflowNode
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

import CCroniumSystem
import CroniumCore
import CroniumExecutors
import CroniumStore
import Foundation
import Logging
import ServiceLifecycle

/// The long-lived heart of Cronium: takes run requests, schedules, dispatches and records runs,
/// and holds the rules about events and runs. HTTP and the CLI only translate to calls on this
/// type, so tests drive it without either.
///
/// Its work is done by six services, run by the caller's service group (``services``): the
/// scheduler, the dispatcher, the delivery worker (messages), the SSH pool, the lease keeper and
/// the log hub.
public final class Engine: Sendable {
    public struct Configuration: Sendable {
        /// Runs at once on this node.
        public var maxConcurrentRuns: Int
        /// How long a claimed job stays ours without renewal; a crashed node's jobs are recovered after it.
        public var leaseSeconds: TimeInterval
        /// On shutdown, running runs get this long to finish before they are cancelled.
        public var shutdownGracePeriod: Duration
        /// A stopped run gets this long between TERM and KILL (``RunSupervisor``).
        public var killGracePeriod: Duration = .seconds(5)
        /// Chunks of output a live log follower may fall behind by before it reads the store
        /// instead (``LogFollower``).
        public var logFollowerBuffer = 64
        /// An occurrence later than this is a misfire (downtime), handled by the schedule's misfire policy.
        public var misfireThresholdSeconds: TimeInterval
        /// Occurrences replayed at most under misfire policy `all`; older ones are recorded as missed.
        public var maxCatchUp: Int
        public var nodeId: String
        /// Runtime API calls one run may make a second, and twice that at once.
        public var runtimeCallsPerSecond: Int
        /// Where the engine's counters go (`/metrics`); nowhere by default.
        public var metrics: EngineMetrics = .none
        /// Where a new script event runs when it does not say (`serve --default-run-location`).
        public var defaultRunLocation: RunLocation = .local
        /// Timeouts, retries and the circuit breaker of connections to remote servers.
        public var ssh = SSHPool.Policy()
        /// The runner deployed to remote servers, and the key that signs their payloads.
        public var runnerFiles: RemoteServers.RunnerFiles?
        /// Tries, backoff and timeouts of messages sent through tools.
        public var toolDelivery = ToolDelivery.Policy()
        /// Each tool's pace, shared with the runtime API's ``ToolSender``.
        public var toolLimits = ToolRateLimit()
        /// Each incoming webhook's pace.
        public var hookLimits = HookRateLimit()
        /// How long runs, logs and ledgers are kept (``RetentionPurge``).
        public var retention = RetentionPolicy()
        /// bcrypt's work factor for new passwords (``Accounts``).
        public var bcryptCost: UInt8 = 10

        public init(
            maxConcurrentRuns: Int = 16,
            leaseSeconds: TimeInterval = 30,
            shutdownGracePeriod: Duration = .seconds(10),
            misfireThresholdSeconds: TimeInterval = 5,
            maxCatchUp: Int = 100,
            nodeId: String = "node-\(UUID().uuidString.prefix(8))",
            runtimeCallsPerSecond: Int = 50,
            metrics: EngineMetrics = .none
        ) {
            self.runtimeCallsPerSecond = runtimeCallsPerSecond
            self.metrics = metrics
            self.maxConcurrentRuns = maxConcurrentRuns
            self.leaseSeconds = leaseSeconds
            self.shutdownGracePeriod = shutdownGracePeriod
            self.misfireThresholdSeconds = misfireThresholdSeconds
            self.maxCatchUp = maxCatchUp
            self.nodeId = nodeId
        }
    }

    let store: any Store
    public let logHub: LogHub
    public let configuration: Configuration
    let executors: ExecutorRegistry
    let clock: any EngineClock
    let logger: Logger
    public let scheduler: Scheduler
    let dispatcher: Dispatcher
    let deliveries: DeliveryWorker
    let leaseKeeper: LeaseKeeper
    let scheduling: SchedulingService
    let purge: RetentionPurge
    /// What bounds local runs, for the rules on limits and read-only paths; nil when this engine
    /// runs nothing locally.
    let isolation: Isolation?

    /// The runtime API's sessions, when scripts may call back (`runtime` of the initializer).
    public let runtime: RuntimeAccess?
    /// Users' variables, their secrets sealed with the master key.
    public let vault: VariableVault
    /// Users, sessions and API tokens, with their rules.
    public var accounts: Accounts { Accounts(store: store, bcryptCost: configuration.bcryptCost) }
    /// Users' remote servers: their credentials (sealed like secrets) and pooled connections.
    public let remote: RemoteServers

    /// Once per process, with its first engine: a run's path allocates and frees the same memory
    /// every time, and malloc's default is to hand it back to the system at once.
    private static let keepFreedMemory: Void = cronium_keep_freed_memory()

    public init(
        store: any Store,
        executors: ExecutorRegistry,
        isolation: Isolation? = nil,
        clock: any EngineClock = SystemClock(),
        configuration: Configuration = .init(),
        runtime: RuntimeAccess? = nil,
        vault: VariableVault? = nil,
        logger: Logger
    ) {
        _ = Self.keepFreedMemory
        self.runtime = runtime
        self.vault = vault ?? VariableVault(store: store, cipher: .withNewKey())
        let remote = RemoteServers(
            store: store,
            cipher: self.vault.cipher,
            pool: SSHPool(policy: configuration.ssh),
            runnerFiles: configuration.runnerFiles
        )
        self.remote = remote
        self.store = store
        var executors = executors
        // Scripts run on remote servers wherever the runner is at hand.
        if configuration.runnerFiles != nil, executors.executor(at: .remote, for: .bash) == nil {
            executors.register(RemoteExecutor(runner: { try remote.runner() }), at: .remote, for: EventType.allCases.filter(\.isScript))
        }
        // Messages are sent by the server itself.
        if executors.executor(at: .local, for: .toolAction) == nil {
            executors.register(
                ToolActionExecutor(
                    store: store,
                    cipher: self.vault.cipher,
                    delivery: ToolDelivery(policy: configuration.toolDelivery),
                    limits: configuration.toolLimits,
                    clock: clock
                ),
                at: .local,
                for: [.toolAction]
            )
        }
        self.executors = executors
        self.isolation = isolation
        self.clock = clock
        self.configuration = configuration
        self.logger = logger
        logHub = LogHub(store: store, logger: logger, subscriberBuffer: configuration.logFollowerBuffer)
        scheduler = Scheduler(
            clock: clock,
            misfireThreshold: configuration.misfireThresholdSeconds,
            maxCatchUp: configuration.maxCatchUp,
            logger: logger
        )
        let deliveries = DeliveryWorker(
            store: store,
            cipher: self.vault.cipher,
            delivery: ToolDelivery(policy: configuration.toolDelivery),
            limits: configuration.toolLimits,
            clock: clock,
            logger: logger
        )
        self.deliveries = deliveries
        let performer = RunPerformer(
            store: store,
            executors: executors,
            logHub: logHub,
            scheduler: scheduler,
            clock: clock,
            configuration: configuration,
            runtime: runtime,
            remote: remote,
            deliveries: deliveries,
            preparation: RunPreparation(vault: self.vault, logger: logger),
            running: RunningRuns(),
            claims: Doorbell(),
            logger: logger
        )
        dispatcher = Dispatcher(store: store, performer: performer, logger: logger)
        leaseKeeper = LeaseKeeper(
            dispatcher: dispatcher,
            recovery: Recovery(store: store, clock: clock, logger: logger),
            configuration: configuration,
            logger: logger
        )
        scheduling = SchedulingService(scheduler: scheduler, store: store, sink: ScheduleRecorder(store: store, dispatcher: dispatcher))
        purge = RetentionPurge(store: store, clock: clock, policy: configuration.retention, metrics: configuration.metrics, logger: logger)
    }

    /// An engine that runs scripts on this machine, bounded as `localRuns.isolation` says, and
    /// HTTP requests from it.
    public convenience init(
        store: any Store,
        localRuns: LocalProcessExecutor.Configuration,
        clock: any EngineClock = SystemClock(),
        configuration: Configuration = .init(),
        runtime: RuntimeAccess? = nil,
        vault: VariableVault? = nil,
        logger: Logger
    ) {
        self.init(
            store: store,
            executors: .standard(local: LocalProcessExecutor(configuration: localRuns)),
            isolation: localRuns.isolation,
            clock: clock,
            configuration: configuration,
            runtime: runtime,
            vault: vault,
            logger: logger
        )
    }

    /// The engine's services in start order; a service group shuts them down in reverse: the
    /// scheduler stops firing, the dispatcher drains its runs, messages being sent stop (they go at
    /// the next start), connections to remote servers close, then leases and logs end.
    public var services: [any Service] { [logHub, leaseKeeper, remote.pool, deliveries, dispatcher, scheduling, purge] }

    /// Ends the runs that the last server on this database left under way: each is recorded as
    /// interrupted (and tried again when its event has retries left). Called once, before
    /// `services` run, so that neither the API nor a new run ever sees them as running.
    public func recoverInterruptedRuns() async throws {
        try await Recovery(store: store, clock: clock, logger: logger).recoverInterrupted(all: true)
    }

    /// Asks for a run now. Returns the new execution's id; the run starts at once when a slot is
    /// free, else as soon as one is.
    public func enqueue(eventId: EventID, trigger: ExecutionTrigger, triggeredBy: UserID?, input: String? = nil) async throws -> ExecutionID {
        try await enqueueReporting(eventId: eventId, trigger: trigger, triggeredBy: triggeredBy, input: input).id
    }

    /// ``enqueue(eventId:trigger:triggeredBy:input:)``, and whether the run started at once in a
    /// free slot (`RUNNING`) or waits in the queue (`PENDING`).
    func enqueueReporting(
        eventId: EventID,
        trigger: ExecutionTrigger,
        triggeredBy: UserID?,
        input: String? = nil
    ) async throws -> (id: ExecutionID, status: ExecutionStatus) {
        let now = clock.now()
        let request = EnqueueRequest(eventId: eventId, trigger: trigger, runAt: now, triggeredBy: triggeredBy, input: input)
        let queued: (id: ExecutionID, status: ExecutionStatus)
        if let started = try await dispatcher.startAtOnce(request, now: now) {
            queued = (started, .running)
        } else {
            queued = (try await store.enqueue(request, now: now), .pending)
            dispatcher.doorbell.ring()
        }
        configuration.metrics.received(trigger)
        return queued
    }

    /// Stops a run: a queued one is marked cancelled at once, a running one is told to stop (the
    /// request is recorded first). Returns false when it had already ended.
    public func cancel(executionId: ExecutionID, reason: String = "cancelled") async throws -> Bool {
        try await dispatcher.cancel(executionId: executionId, reason: reason)
    }

    /// Runs waiting in the queue (due or not), for `/metrics`; read when it is scraped.
    public func updateQueueDepth() async throws {
        configuration.metrics.queueDepth(try await store.queuedJobCount())
    }

    /// Runs started on this node and not yet recorded as ended.
    public var runningCount: Int { dispatcher.activeCount }

    /// A failed or timed-out run is tried again while the event has retries left, waiting
    /// `retryBackoffSeconds * 2^(attempt-1)`. Nil when it is not.
    static func retry(of execution: Execution, event: Event, outcome: ExecutionOutcome, finishedAt: Date) -> EnqueueRequest? {
        guard outcome.status == .failure || outcome.status == .timeout, execution.attempt <= event.retries else { return nil }
        let delay = Double(event.retryBackoffSeconds) * pow(2, Double(execution.attempt - 1))
        return EnqueueRequest(
            eventId: event.id,
            trigger: .retry,
            attempt: execution.attempt + 1,
            scheduledFor: execution.scheduledFor,
            runAt: finishedAt + delay,
            triggeredBy: execution.triggeredBy,
            input: execution.input?.text,
            parentExecutionId: execution.parentExecutionId,
            chainDepth: execution.chainDepth,
            workflowRunId: execution.workflowRunId,
            workflowNode: execution.workflowNode
        )
    }
}

/// Loads the timetable, then fires schedules until shutdown.
struct SchedulingService: Service {
    let scheduler: Scheduler
    let store: any Store
    let sink: ScheduleRecorder

    func run() async throws {
        try await scheduler.load(from: store)
        #if canImport(Glibc)
            // Loading every scheduled event leaves freed row buffers in malloc's arenas; hand them back.
            _ = malloc_trim(0)
        #endif
        await cancelWhenGracefulShutdown { await scheduler.run(sink: sink) }
    }
}

#if canImport(Glibc)
    /// glibc's, from <malloc.h>, which the Glibc module does not export.
    @_silgen_name("malloc_trim") private func malloc_trim(_ pad: Int) -> Int32
#endif

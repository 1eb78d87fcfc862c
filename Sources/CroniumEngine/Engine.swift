import CroniumCore
import CroniumExecutors
import CroniumStore
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

#if canImport(Glibc)
/// glibc's, from <malloc.h>, which the Glibc module does not export.
@_silgen_name("malloc_trim") private func malloc_trim(_ pad: Int) -> Int32
#endif

/// The long-lived heart of Cronium: takes run requests, schedules, dispatches and records runs.
/// HTTP and the CLI only translate to calls on this type, so tests drive it without either.
public final class Engine: Service, Sendable {
    public struct Configuration: Sendable {
        /// Runs at once on this node.
        public var maxConcurrentRuns: Int
        /// How long a claimed job stays ours without renewal; a crashed node's jobs are recovered after it.
        public var leaseSeconds: TimeInterval
        /// On shutdown, running runs get this long to finish before they are cancelled.
        public var shutdownGracePeriod: Duration
        /// An occurrence later than this is a misfire (downtime), handled by the schedule's misfire policy.
        public var misfireThresholdSeconds: TimeInterval
        /// Occurrences replayed at most under misfire policy `all`; older ones are recorded as missed.
        public var maxCatchUp: Int
        public var nodeId: String

        public init(
            maxConcurrentRuns: Int = 16, leaseSeconds: TimeInterval = 30, shutdownGracePeriod: Duration = .seconds(10),
            misfireThresholdSeconds: TimeInterval = 5, maxCatchUp: Int = 100, nodeId: String = "node-\(UUID().uuidString.prefix(8))"
        ) {
            self.maxConcurrentRuns = maxConcurrentRuns
            self.leaseSeconds = leaseSeconds
            self.shutdownGracePeriod = shutdownGracePeriod
            self.misfireThresholdSeconds = misfireThresholdSeconds
            self.maxCatchUp = maxCatchUp
            self.nodeId = nodeId
        }
    }

    public let store: Database
    public let logHub: LogHub
    public let configuration: Configuration
    let executors: [EventType: any Executor]
    let clock: any EngineClock
    let logger: Logger
    let doorbell = Doorbell()
    public let scheduler: Scheduler
    /// Runs in progress on this node, by execution id, so they can be cancelled.
    let running = Mutex<[Int64: RunningExecution]>([:])

    /// The run's own task is never cancelled, so recording its end cannot be interrupted; a cancel
    /// reaches only the executor's task inside it.
    struct RunningExecution: Sendable {
        var task: Task<Void, Never>?
        var executorTask: Task<ExecutionOutcome, Never>?
        var cancelReason: String?
        /// Set once the executor has returned: from then on the run's outcome is decided.
        var ended = false
    }

    public init(store: Database, executors: [EventType: any Executor], clock: any EngineClock = SystemClock(), configuration: Configuration = .init(), logger: Logger) {
        self.store = store
        self.executors = executors
        self.clock = clock
        self.configuration = configuration
        self.logger = logger
        self.logHub = LogHub(store: store, logger: logger)
        self.scheduler = Scheduler(clock: clock, misfireThreshold: configuration.misfireThresholdSeconds, maxCatchUp: configuration.maxCatchUp, logger: logger)
    }

    /// Recovers what a previous process left behind, then schedules and dispatches until shutdown.
    public func run() async throws {
        try await recoverOrphanedJobs()
        let sink = EngineScheduleSink(engine: self)
        try await scheduler.load(from: store)
        #if canImport(Glibc)
        // Loading every scheduled event leaves freed row buffers in malloc's arenas; hand them back.
        _ = malloc_trim(0)
        #endif
        await withDiscardingTaskGroup { group in
            group.addTask { try? await self.logHub.run() }
            group.addTask { await self.scheduler.run(sink: sink) }
            group.addTask { await self.renewLeasesPeriodically() }
            await withGracefulShutdownHandler {
                await self.dispatchLoop()
            } onGracefulShutdown: {
                self.doorbell.ring()
            }
            await self.drainRunning()
            group.cancelAll()
        }
        await logHub.flushAll()
    }

    /// Asks for a run now. Returns the new execution's id; the run starts as soon as a slot is free.
    public func enqueue(eventId: Int64, trigger: ExecutionTrigger, triggeredBy: Int64?) async throws -> Int64 {
        let now = clock.now()
        let id = try await store.enqueue(EnqueueRequest(eventId: eventId, trigger: trigger, runAt: now, triggeredBy: triggeredBy), now: now)
        doorbell.ring()
        return id
    }

    /// Stops a run: a queued one is marked cancelled at once, a running one has its process tree
    /// stopped. Returns false when it had already ended.
    public func cancel(executionId: Int64, reason: String = "cancelled") async throws -> Bool {
        enum Found { case live, ended, absent }
        // A run the dispatcher has just claimed is RUNNING in the store a moment before it is in
        // `running`; it is looked for again until it shows up (or turns out to have ended).
        for _ in 0..<400 {
            let found = running.withLock { running -> Found in
                guard let entry = running[executionId] else { return .absent }
                guard !entry.ended else { return .ended }
                running[executionId]?.cancelReason = reason
                running[executionId]?.executorTask?.cancel()
                return .live
            }
            if found != .absent { return found == .live }
            let result = try await store.finish(
                executionId: executionId, outcome: ExecutionOutcome(status: .cancelled, error: reason), at: clock.now(), logBytes: 0,
                logDroppedBytes: 0, onlyIfQueued: true)
            if result.releasedHeldRun { doorbell.ring() }
            if result.recorded { return true }
            guard try await store.execution(id: executionId)?.status == .running else { return false }
            try await Task.sleep(for: .milliseconds(5))
        }
        return false
    }

    /// Tells the scheduler an event was created, changed or deleted. `scheduleChanged` restarts its
    /// timetable from now; otherwise the planned next fire is kept.
    public func eventChanged(id: Int64, scheduleChanged: Bool) async {
        await scheduler.markChanged(eventId: id, resetTimetable: scheduleChanged)
    }

    public var runningCount: Int { running.withLock { $0.count } }

    /// The clock this engine reads, so tests can step a ``ManualClock`` they passed in.
    public var clockForTesting: any EngineClock { clock }
}

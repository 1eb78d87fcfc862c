import CroniumCore
import CroniumExecutors
import CroniumStore
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// Claims due jobs while slots are free and runs each in a child of one task group, refilled one
/// for one as runs end. Sleeps until rung (an enqueue, a run's end, a released held run,
/// shutdown) or until the next delayed job is due: no polling between an enqueue and its start.
///
/// The loop is the only writer between runs: the ends of runs that finished since its last pass
/// are recorded in the same transaction that claims the jobs filling their slots, and a trigger
/// that finds a slot free starts its run itself and hands it over (``startAtOnce(_:now:)``).
final class Dispatcher: Service, Sendable {
    let store: any Store
    let executors: ExecutorRegistry
    let logHub: LogHub
    let clock: any EngineClock
    let configuration: Engine.Configuration
    let logger: Logger
    /// Rung by an enqueue, a run's end, a released held run, shutdown (shared with the performer).
    var doorbell: Doorbell { performer.claims }
    /// Rung when this node starts holding leases, so the lease keeper sleeps while it holds none.
    let leasesTaken = Doorbell()
    /// Runs of this node from claim to recorded end, each with the signal that stops it (shared
    /// with the performer).
    var running: RunningRuns { performer.running }
    /// What each claimed run goes through.
    let performer: RunPerformer
    /// The queue's rules over the store's queue.
    var runs: RunQueue { RunQueue(queue: store) }
    private let slots = Mutex(Slots())
    /// Ends waiting for the loop's next transaction, and runs handed over by triggers.
    private let inbox = Mutex(Inbox())

    private struct Slots {
        /// Runs started (or being started) and not yet recorded as ended.
        var taken = 0
        /// Whether triggers may start runs themselves: only while the loop runs (not while
        /// shutting down).
        var handOffsOpen = false
    }

    private struct Inbox {
        var ends: [PendingEnd] = []
        var handOffs: [StartedRun] = []
        /// The loop has stopped: a run records its own end.
        var closed = false
    }

    static let shutdownReason = "Cronium was shutting down"

    /// `performer` brings the run path: the dispatcher takes its executors, log hub, clock and
    /// configuration, and shares its doorbell and running runs.
    init(store: any Store, performer: RunPerformer, logger: Logger) {
        self.store = store
        self.performer = performer
        executors = performer.executors
        logHub = performer.logHub
        clock = performer.clock
        configuration = performer.configuration
        self.logger = logger
    }

    var activeCount: Int { slots.withLock { $0.taken } }

    func run() async throws {
        for executor in executors.all { await executor.removeLeftovers() }
        slots.withLock { $0.handOffsOpen = !Task.isShuttingDownGracefully }
        let pool = WorkerPool(doorbell: doorbell, clock: clock, pauseAfterFailure: 1, logger: logger)
        await pool.run(
            failure: "claiming runs failed",
            stopping: { self.slots.withLock { $0.handOffsOpen = false } },
            pass: { group in await self.claimPass(group: &group) },
            drain: { group in await self.drain(group: &group) }
        )
        for executor in executors.all { await executor.shutDown() }
    }

    /// Starts a run in a free slot of this node in the transaction that records it, and hands it
    /// to the loop. Nil when no slot is free (or the loop is not running): then the run is queued.
    func startAtOnce(_ request: EnqueueRequest, now: Date) async throws -> ExecutionID? {
        guard
            slots.withLock({ slots in
                guard slots.handOffsOpen, slots.taken < configuration.maxConcurrentRuns else { return false }
                slots.taken += 1
                return true
            })
        else { return nil }
        let started: StartedRun
        do {
            started = try await runs.enqueueAndStart(request, owner: configuration.nodeId, now: now, leaseUntil: now + configuration.leaseSeconds)
        } catch {
            releaseSlots(1)
            throw error
        }
        let taken = inbox.withLock { inbox -> Bool in
            guard !inbox.closed else { return false }
            inbox.handOffs.append(started)
            return true
        }
        if taken {
            doorbell.ring()
        } else {
            // The loop stopped while the run was being recorded: it ends as a shutdown would end it.
            _ = await recordedAlone(
                RunEnd(
                    executionId: started.execution.id,
                    outcome: .failure(.interrupted, Self.shutdownReason),
                    finishedAt: clock.now(),
                    logBytes: 0,
                    logDroppedBytes: 0
                )
            )
            releaseSlots(1)
        }
        return started.execution.id
    }

    /// One pass of the loop: records the ends that came since the last one and claims the jobs
    /// that fill the free slots, in one transaction, and starts the runs handed over meanwhile.
    private func claimPass(group: inout DiscardingTaskGroup) async -> WorkerPool.Next {
        let ends = takeInbox(into: &group)
        // The slots of the runs whose ends this pass records are free for the jobs it claims.
        let limit = slots.withLock { slots in
            slots.taken -= ends.count
            let free = max(0, configuration.maxConcurrentRuns - slots.taken)
            slots.taken += free
            return free
        }
        guard let started = await recordEnds(ends, claiming: limit) else {
            // A store that fails is not asked again at once: the loop would spin.
            releaseSlots(limit)
            return .whenRung(orAt: clock.now() + 0.25)
        }
        releaseSlots(limit - started.count)
        for run in started { start(run, in: &group) }
        if limit > 0 && started.count == limit { return .again }
        guard started.count < limit else { return .whenRung(orAt: nil) }
        do {
            return .whenRung(orAt: try await store.nextDueTime())
        } catch {
            // Not known: a retry's backoff may fall due on an idle server, so ask again soon
            // rather than wait for a ring that may never come.
            logger.error("could not read when the next run is due", metadata: ["error": "\(String(reflecting: error))"])
            return .whenRung(orAt: clock.now() + 1)
        }
    }

    /// A run's end waiting for the loop, and how to tell the run it was recorded (nil: record it yourself).
    private typealias PendingEnd = (end: RunEnd, recorded: CheckedContinuation<Result<FinishResult, any Error>?, Never>)

    /// Takes the ends waiting to be recorded, and starts the runs handed over since the last look.
    /// `closing`: runs that end from now on record their own ends.
    private func takeInbox(into group: inout DiscardingTaskGroup, closing: Bool = false) -> [PendingEnd] {
        let (ends, handOffs) = inbox.withLock { inbox in
            if closing { inbox.closed = true }
            defer { (inbox.ends, inbox.handOffs) = ([], []) }
            return (inbox.ends, inbox.handOffs)
        }
        for run in handOffs { start(run, in: &group) }
        return ends
    }

    /// Records `ends` and claims up to `limit` due jobs in one transaction, and tells each run
    /// how its end was recorded. When that fails, each end is recorded alone (so a failing claim
    /// loses none of them) and nil is returned.
    private func recordEnds(_ ends: [PendingEnd], claiming limit: Int) async -> [StartedRun]? {
        guard !ends.isEmpty || limit > 0 else { return [] }
        let now = clock.now()
        do {
            let (finished, started) = try await runs.finishAndClaim(
                ends.map(\.end),
                owner: configuration.nodeId,
                limit: limit,
                now: now,
                leaseUntil: now + configuration.leaseSeconds
            )
            for (index, end) in ends.enumerated() {
                // What an end sent to the queue (a held run, a workflow's next nodes) was due, and
                // this same transaction claimed what its slots could take; the loop goes again
                // when they were all taken. A ring would only add an empty claim.
                var result = finished[index]
                result.releasedHeldRun = false
                end.recorded.resume(returning: .success(result))
            }
            return started
        } catch {
            logger.error("recording ends and claiming jobs failed", metadata: ["error": "\(String(reflecting: error))"])
            for end in ends { end.recorded.resume(returning: await recordedAlone(end.end)) }
            return nil
        }
    }

    /// Takes a started run into the group.
    private func start(_ run: StartedRun, in group: inout DiscardingTaskGroup) {
        leasesTaken.ring()
        configuration.metrics.active(activeCount)
        let stop = running.register(run.execution.id)
        group.addTask { await self.performer.perform(run, stop: stop, record: self.record) }
    }

    private func releaseSlots(_ count: Int) {
        guard count != 0 else { return }
        configuration.metrics.active(
            slots.withLock {
                $0.taken -= count; return $0.taken
            }
        )
    }

    /// Records a run's end: with the loop's next claim while it runs, alone once it has stopped.
    private func record(_ end: RunEnd) async throws -> FinishResult {
        let byLoop = await withCheckedContinuation { (recorded: CheckedContinuation<Result<FinishResult, any Error>?, Never>) in
            let queued = inbox.withLock { inbox -> Bool in
                guard !inbox.closed else { return false }
                inbox.ends.append((end, recorded))
                return true
            }
            if queued { doorbell.ring() } else { recorded.resume(returning: nil) }
        }
        if let byLoop { return try byLoop.get() }
        defer { releaseSlots(1) }
        return try await recordAlone(end)
    }

    private func recordedAlone(_ end: RunEnd) async -> Result<FinishResult, any Error> {
        do { return .success(try await recordAlone(end)) } catch { return .failure(error) }
    }

    private func recordAlone(_ end: RunEnd) async throws -> FinishResult {
        try await runs.finish(end)
    }

    /// Gives running runs the grace period to end (recording the ends as they come), then stops
    /// what is left; runs that end after that record their own ends.
    private func drain(group: inout DiscardingTaskGroup) async {
        slots.withLock { $0.handOffsOpen = false }
        // Real time, not the engine's clock: the grace bounds how long the process takes to stop.
        let realTime = SystemClock()
        let deadline = realTime.now().addingTimeInterval(configuration.shutdownGracePeriod / .seconds(1))
        // Runs handed over just before the shutdown began run like the others.
        while true {
            let ends = takeInbox(into: &group)
            _ = await recordEnds(ends, claiming: 0)
            releaseSlots(ends.count)
            guard activeCount > 0, realTime.now() < deadline, !Task.isCancelled else { break }
            await doorbell.wait(until: deadline, clock: realTime)
        }
        let left = takeInbox(into: &group, closing: true)
        _ = await recordEnds(left, claiming: 0)
        releaseSlots(left.count)
        running.stopAll(reason: Self.shutdownReason)
    }

    /// Cancels a run: a queued one ends at once, a running one is told to stop (the request is
    /// recorded first, so it survives this node). Returns false when the run had already ended.
    func cancel(executionId: ExecutionID, reason: String) async throws -> Bool {
        try await performer.cancel(executionId: executionId, reason: reason)
    }

}

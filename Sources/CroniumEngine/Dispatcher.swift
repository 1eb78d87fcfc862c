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
final class Dispatcher: Service, Sendable {
    let store: Database
    let executors: ExecutorRegistry
    let logHub: LogHub
    let scheduler: Scheduler
    let clock: any EngineClock
    let configuration: Engine.Configuration
    let logger: Logger
    let doorbell = Doorbell()
    /// Rung when this node starts holding leases, so the lease keeper sleeps while it holds none.
    let leasesTaken = Doorbell()
    /// Runs of this node from claim to recorded end, each with the signal that stops it. A cancel
    /// that arrives between the claim and the run's registration leaves its signal here first.
    private let running = Mutex<[ExecutionID: StopSignal]>([:])
    /// Runs started and not yet recorded as ended; the slots they hold.
    private let active = Mutex(0)

    static let shutdownReason = "Cronium was shutting down"

    init(
        store: Database, executors: ExecutorRegistry, logHub: LogHub, scheduler: Scheduler, clock: any EngineClock,
        configuration: Engine.Configuration, logger: Logger
    ) {
        self.store = store
        self.executors = executors
        self.logHub = logHub
        self.scheduler = scheduler
        self.clock = clock
        self.configuration = configuration
        self.logger = logger
    }

    var activeCount: Int { active.withLock { $0 } }

    func run() async throws {
        try await Recovery(store: store, clock: clock, logger: logger).recoverInterrupted(all: true)
        for executor in executors.all { await executor.removeLeftovers() }
        await withDiscardingTaskGroup { group in
            await withGracefulShutdownHandler {
                await self.claimLoop(group: &group)
            } onGracefulShutdown: {
                self.doorbell.ring()
            }
            await self.drain()
        }
    }

    private func claimLoop(group: inout DiscardingTaskGroup) async {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            let free = configuration.maxConcurrentRuns - activeCount
            var claimed: [StartedRun] = []
            if free > 0 {
                let now = clock.now()
                do {
                    claimed = try await store.claimAndStart(
                        owner: configuration.nodeId, limit: free, now: now, leaseUntil: now + configuration.leaseSeconds)
                } catch {
                    logger.error("claiming jobs failed", metadata: ["error": "\(String(reflecting: error))"])
                    // A store that fails is not asked again at once: the loop would spin.
                    try? await Task.sleep(for: .milliseconds(250))
                }
                if !claimed.isEmpty { leasesTaken.ring() }
                for run in claimed {
                    let stop = register(run.execution.id)
                    group.addTask { await self.perform(run, stop: stop) }
                }
            }
            if !claimed.isEmpty && claimed.count == free { continue }
            let nextDue = free > claimed.count ? (try? await store.nextDueTime()) ?? nil : nil
            if Task.isShuttingDownGracefully { break }
            await doorbell.wait(until: nextDue, clock: clock)
        }
    }

    /// The run's slot and stop signal; a cancel that came first has left its signal already.
    private func register(_ id: ExecutionID) -> StopSignal {
        configuration.metrics.active(active.withLock { $0 += 1; return $0 })
        return running.withLock { running in
            if let early = running[id] { return early }
            let stop = StopSignal()
            running[id] = stop
            return stop
        }
    }

    /// Gives running runs the grace period to end, then stops what is left.
    private func drain() async {
        let deadline = Date() + Double(configuration.shutdownGracePeriod.components.seconds)
            + Double(configuration.shutdownGracePeriod.components.attoseconds) / 1e18
        while activeCount > 0, Date() < deadline {
            await doorbell.wait(until: deadline, clock: SystemClock())
        }
        for stop in running.withLock({ Array($0.values) }) { stop.stop(Self.shutdownReason) }
    }

    /// Cancels a run: a queued one ends at once, a running one is told to stop (the request is
    /// recorded first, so it survives this node). Returns false when the run had already ended.
    func cancel(executionId: ExecutionID, reason: String) async throws -> Bool {
        switch try await store.requestCancel(executionId: executionId, reason: reason, at: clock.now()) {
        case .cancelledWhileQueued(let releasedHeldRun):
            if releasedHeldRun { doorbell.ring() }
            return true
        case .ended:
            return false
        case .running:
            let (signal, early) = running.withLock { running -> (StopSignal, Bool) in
                if let signal = running[executionId] { return (signal, false) }
                // Claimed a moment ago and not registered yet: the run finds its signal already stopped.
                let signal = StopSignal()
                running[executionId] = signal
                return (signal, true)
            }
            signal.stop(reason)
            // The run may have been recorded as ended in between; then nobody will take the signal.
            if early, try await store.execution(id: executionId)?.status.isFinal ?? true {
                running.withLock { _ = $0.removeValue(forKey: executionId) }
            }
            return true
        }
    }

    /// Runs one started run to its recorded end, then does what follows a run: releases a queued
    /// overlapping run, enqueues a retry, wakes the claim loop.
    private func perform(_ started: StartedRun, stop: StopSignal) async {
        let id = started.execution.id
        let event = started.event
        if started.budgetUsedUp {
            logger.info("event reached its maximum executions and was paused", metadata: ["event.id": "\(event.id)"])
            await scheduler.markChanged(eventId: event.id, resetTimetable: false)
        }
        logHub.open(executionId: id, capBytes: event.logCapBytes, now: clock.now())
        let context = ExecutionContext(
            executionId: id, event: event, attempt: started.execution.attempt, trigger: started.execution.trigger,
            environment: Self.environment(for: event, executionId: id), deadline: .now + .seconds(event.timeoutSeconds))
        let hub = logHub
        let output = RunOutput { stream, lines in hub.append(executionId: id, stream: stream, lines: lines) }
        let outcome: ExecutionOutcome
        if let executor = executors.executor(at: event.runLocation, for: event.type) {
            outcome = await RunSupervisor.run(context, on: executor, stop: stop, output: output, shutdownReason: Self.shutdownReason)
        } else {
            outcome = .failure(.unsupported, executors.problem(running: event) ?? "this server cannot run the event")
        }
        let logCounts = await logHub.finish(executionId: id)
        let finishedAt = clock.now()
        do {
            let retry = Engine.retry(of: started.execution, event: event, outcome: outcome, finishedAt: finishedAt)
            let result = try await store.finish(
                executionId: id, outcome: outcome, at: finishedAt, logBytes: logCounts.bytes, logDroppedBytes: logCounts.droppedBytes, retry: retry)
            if result.releasedHeldRun { doorbell.ring() }
            if result.recorded {
                configuration.metrics.finished(
                    type: event.type, outcome: outcome, duration: finishedAt.timeIntervalSince(started.execution.startedAt ?? finishedAt))
                if retry != nil { configuration.metrics.received(.retry) }
            }
        } catch {
            logger.error("could not record a run's end", metadata: ["execution.id": "\(id)", "error": "\(String(reflecting: error))"])
        }
        logHub.close(executionId: id, status: outcome.status)
        running.withLock { _ = $0.removeValue(forKey: id) }
        configuration.metrics.active(active.withLock { $0 -= 1; return $0 })
        doorbell.ring()
    }

    /// The event's variables and Cronium's own; nothing of the server's environment.
    static func environment(for event: Event, executionId: ExecutionID) -> [String: String] {
        var environment = event.environment
        environment["CRONIUM_EXECUTION_ID"] = String(executionId)
        environment["CRONIUM_EVENT_ID"] = String(event.id)
        environment["CRONIUM_EVENT_NAME"] = event.name
        return environment
    }
}

import CroniumCore
import CroniumExecutors
import CroniumStore
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

extension Engine {
    /// Claims due jobs while slots are free; sleeps until rung (enqueue, a run ended, shutdown) or
    /// until the next delayed job is due. No polling delay between an enqueue and its start.
    func dispatchLoop() async {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            let free = configuration.maxConcurrentRuns - runningCount
            var claimed: [StartedRun] = []
            if free > 0 {
                let now = clock.now()
                do {
                    claimed = try await store.claimAndStart(owner: configuration.nodeId, limit: free, now: now, leaseUntil: now + configuration.leaseSeconds)
                } catch {
                    logger.error("claiming jobs failed", metadata: ["error": "\(String(reflecting: error))"])
                    // A store that fails is not asked again at once: the loop would spin.
                    try? await Task.sleep(for: .milliseconds(250))
                }
                for run in claimed { start(run) }
            }
            if !claimed.isEmpty && claimed.count == free { continue }
            let nextDue = free > claimed.count ? (try? await store.nextDueTime()) ?? nil : nil
            if Task.isShuttingDownGracefully { break }
            await doorbell.wait(until: nextDue, clock: clock)
        }
    }

    private func start(_ run: StartedRun) {
        // The task is registered before it can finish, so a fast run's cleanup always finds it.
        running.withLock { running in
            running[run.execution.id] = RunningExecution()
            running[run.execution.id]?.task = Task { await self.perform(run) }
        }
    }

    /// Runs one started run to its final record, then does what follows a run: releases a
    /// queued overlapping run, enqueues a retry, wakes the dispatcher.
    private func perform(_ started: StartedRun) async {
        let id = started.execution.id
        defer {
            _ = running.withLock { $0.removeValue(forKey: id) }
            doorbell.ring()
        }
        let event = started.event
        if started.budgetUsedUp {
            logger.info("event reached its maximum executions and was paused", metadata: ["event.id": "\(event.id)"])
            await scheduler.markChanged(eventId: event.id, resetTimetable: false)
        }

        logHub.open(executionId: id, capBytes: event.logCapBytes, now: clock.now())
        var outcome: ExecutionOutcome
        if let executor = executors[event.type] {
            let request = ExecutionRequest(executionId: id, event: event, environment: Self.environment(for: event, executionId: id))
            let hub = logHub
            let executorTask = running.withLock { running -> Task<ExecutionOutcome, Never>? in
                // A cancel that arrived while the run was being prepared wins before anything starts.
                guard running[id]?.cancelReason == nil else { return nil }
                let task = Task { await executor.execute(request) { stream, text in hub.append(executionId: id, stream: stream, text: text) } }
                running[id]?.executorTask = task
                return task
            }
            outcome = await executorTask?.value ?? ExecutionOutcome(status: .cancelled)
        } else {
            outcome = ExecutionOutcome(status: .failure, error: "this server cannot run \(event.type.rawValue) events")
        }
        let cancelReason = running.withLock { running in
            running[id]?.ended = true
            return running[id]?.cancelReason
        }
        if outcome.status == .cancelled, let cancelReason { outcome.error = cancelReason }
        let logCounts = await logHub.finish(executionId: id)
        let finishedAt = clock.now()
        do {
            let result = try await store.finish(
                executionId: id, outcome: outcome, at: finishedAt, logBytes: logCounts.bytes, logDroppedBytes: logCounts.droppedBytes,
                retry: Self.retry(of: started.execution, event: event, outcome: outcome, finishedAt: finishedAt))
            if result.releasedHeldRun { doorbell.ring() }
        } catch {
            logger.error("could not record a run's end", metadata: ["execution.id": "\(id)", "error": "\(String(reflecting: error))"])
        }
        logHub.close(executionId: id, status: outcome.status)
    }

    /// A failed or timed-out run is tried again while the event has retries left, waiting
    /// `retryBackoffSeconds * 2^(attempt-1)`. Nil when it is not.
    static func retry(of execution: Execution, event: Event, outcome: ExecutionOutcome, finishedAt: Date) -> EnqueueRequest? {
        guard outcome.status == .failure || outcome.status == .timeout, execution.attempt <= event.retries else { return nil }
        let delay = Double(event.retryBackoffSeconds) * pow(2, Double(execution.attempt - 1))
        return EnqueueRequest(
            eventId: event.id, trigger: .retry, attempt: execution.attempt + 1, scheduledFor: execution.scheduledFor,
            runAt: finishedAt + delay, triggeredBy: execution.triggeredBy)
    }

    /// The event's variables and Cronium's own; nothing of the server's environment.
    static func environment(for event: Event, executionId: Int64) -> [String: String] {
        var environment = event.environment
        environment["CRONIUM_EXECUTION_ID"] = String(executionId)
        environment["CRONIUM_EVENT_ID"] = String(event.id)
        environment["CRONIUM_EVENT_NAME"] = event.name
        return environment
    }

    /// Gives running runs the grace period to end, then cancels what is left.
    func drainRunning() async {
        let deadline = ContinuousClock.now + configuration.shutdownGracePeriod
        while runningCount > 0, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        let leftovers = running.withLock { running in
            running.keys.compactMap { id -> Task<Void, Never>? in
                running[id]?.cancelReason = "Cronium was shutting down"
                running[id]?.executorTask?.cancel()
                return running[id]?.task
            }
        }
        for task in leftovers { await task.value }
    }
}

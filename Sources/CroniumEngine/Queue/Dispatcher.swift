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
    let store: Database
    let executors: ExecutorRegistry
    let logHub: LogHub
    let scheduler: Scheduler
    let clock: any EngineClock
    let configuration: Engine.Configuration
    let runtime: RuntimeAccess?
    let vault: VariableVault
    let remote: RemoteServers
    let deliveries: DeliveryWorker
    let logger: Logger
    let doorbell = Doorbell()
    /// Rung when this node starts holding leases, so the lease keeper sleeps while it holds none.
    let leasesTaken = Doorbell()
    /// Runs of this node from claim to recorded end, each with the signal that stops it. A cancel
    /// that arrives between the claim and the run's registration leaves its signal here first.
    private let running = Mutex<[ExecutionID: StopSignal]>([:])
    private let slots = Mutex(Slots())
    /// Ends waiting for the loop's next transaction, and runs handed over by triggers.
    private let inbox = Mutex(Inbox())

    private struct Slots {
        /// Runs started (or being started) and not yet recorded as ended.
        var taken = 0
        /// Whether triggers may start runs themselves: only while the loop runs (not before the
        /// start-up recovery, which ends every claimed job, nor while shutting down).
        var handOffsOpen = false
    }

    private struct Inbox {
        var ends: [PendingEnd] = []
        var handOffs: [StartedRun] = []
        /// The loop has stopped: a run records its own end.
        var closed = false
    }

    static let shutdownReason = "Cronium was shutting down"

    init(
        store: Database,
        executors: ExecutorRegistry,
        logHub: LogHub,
        scheduler: Scheduler,
        clock: any EngineClock,
        configuration: Engine.Configuration,
        runtime: RuntimeAccess?,
        vault: VariableVault,
        remote: RemoteServers,
        deliveries: DeliveryWorker,
        logger: Logger
    ) {
        self.remote = remote
        self.deliveries = deliveries
        self.runtime = runtime
        self.vault = vault
        self.store = store
        self.executors = executors
        self.logHub = logHub
        self.scheduler = scheduler
        self.clock = clock
        self.configuration = configuration
        self.logger = logger
    }

    var activeCount: Int { slots.withLock { $0.taken } }

    func run() async throws {
        try await Recovery(store: store, clock: clock, logger: logger).recoverInterrupted(all: true)
        for executor in executors.all { await executor.removeLeftovers() }
        await withDiscardingTaskGroup { group in
            await withGracefulShutdownHandler {
                await self.claimLoop(group: &group)
            } onGracefulShutdown: {
                self.slots.withLock { $0.handOffsOpen = false }
                self.doorbell.ring()
            }
            await self.drain(group: &group)
        }
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
            started = try await store.enqueueAndStart(request, owner: configuration.nodeId, now: now, leaseUntil: now + configuration.leaseSeconds)
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
                    outcome: .failure(.cancelled, Self.shutdownReason, status: .cancelled),
                    finishedAt: clock.now(),
                    logBytes: 0,
                    logDroppedBytes: 0
                )
            )
            releaseSlots(1)
        }
        return started.execution.id
    }

    private func claimLoop(group: inout DiscardingTaskGroup) async {
        slots.withLock { $0.handOffsOpen = !Task.isShuttingDownGracefully }
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            let ends = takeInbox(into: &group)
            // The slots of the runs whose ends this pass records are free for the jobs it claims.
            let limit = slots.withLock { slots in
                slots.taken -= ends.count
                let free = max(0, configuration.maxConcurrentRuns - slots.taken)
                slots.taken += free
                return free
            }
            let claimed = await recordEnds(ends, claiming: limit)
            if claimed == nil {
                // A store that fails is not asked again at once: the loop would spin.
                try? await clock.sleep(until: clock.now() + 0.25)
            }
            let started = claimed ?? []
            releaseSlots(limit - started.count)
            for run in started { start(run, in: &group) }
            if limit > 0 && started.count == limit { continue }
            var nextDue: Date?
            if started.count < limit {
                do {
                    nextDue = try await store.nextDueTime()
                } catch {
                    // Not known: a retry's backoff may fall due on an idle server, so ask again soon
                    // rather than wait for a ring that may never come.
                    logger.error("could not read when the next run is due", metadata: ["error": "\(String(reflecting: error))"])
                    nextDue = clock.now() + 1
                }
            }
            if Task.isShuttingDownGracefully { break }
            await doorbell.wait(until: nextDue, clock: clock)
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
            let (finished, started) = try await store.finishAndClaim(
                ends.map(\.end),
                owner: configuration.nodeId,
                limit: limit,
                now: now,
                leaseUntil: now + configuration.leaseSeconds
            )
            for (index, end) in ends.enumerated() { end.recorded.resume(returning: .success(finished[index])) }
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
        let stop = register(run.execution.id)
        group.addTask { await self.perform(run, stop: stop) }
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
        try await store.finish(
            executionId: end.executionId,
            outcome: end.outcome,
            at: end.finishedAt,
            logBytes: end.logBytes,
            logDroppedBytes: end.logDroppedBytes,
            retry: end.retry
        )
    }

    /// The run's slot and stop signal; a cancel that came first has left its signal already.
    func register(_ id: ExecutionID) -> StopSignal {
        configuration.metrics.active(activeCount)
        return running.withLock { running in
            if let early = running[id] { return early }
            let stop = StopSignal()
            running[id] = stop
            return stop
        }
    }

    /// Gives running runs the grace period to end (recording the ends as they come), then stops
    /// what is left; runs that end after that record their own ends.
    private func drain(group: inout DiscardingTaskGroup) async {
        slots.withLock { $0.handOffsOpen = false }
        let deadline =
            Date() + Double(configuration.shutdownGracePeriod.components.seconds)
            + Double(configuration.shutdownGracePeriod.components.attoseconds) / 1e18
        // Runs handed over just before the shutdown began run like the others.
        while true {
            let ends = takeInbox(into: &group)
            _ = await recordEnds(ends, claiming: 0)
            releaseSlots(ends.count)
            guard activeCount > 0, Date() < deadline, !Task.isCancelled else { break }
            await doorbell.wait(until: deadline, clock: SystemClock())
        }
        let left = takeInbox(into: &group, closing: true)
        _ = await recordEnds(left, claiming: 0)
        releaseSlots(left.count)
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
        var environment = Self.environment(for: event, executionId: id)
        let mask: LogMask
        var unreadable: ExecutionError?
        switch await variables(of: event) {
        case .success(let variables):
            mask = variables.mask
            environment.merge(variables.environment) { _, variable in variable }
        case .failure(let error):
            (mask, unreadable) = (LogMask(secrets: []), error)
        }
        let context = ExecutionContext(
            executionId: id,
            event: event,
            attempt: started.execution.attempt,
            trigger: started.execution.trigger,
            input: started.execution.input?.text,
            environment: environment,
            deadline: .now + .seconds(event.timeoutSeconds)
        )
        let hub = logHub
        let output = RunOutput { stream, lines in hub.append(executionId: id, stream: stream, lines: mask.mask(lines)) }
        let outcome: ExecutionOutcome
        if let unreadable {
            outcome = .failure(unreadable.code, unreadable.message)
        } else if let executor = executors.executor(at: event.runLocation, for: event.type) {
            outcome =
                event.runLocation == .remote
                ? await runOnServers(context, of: started.execution, on: executor, stop: stop, mask: mask)
                : await run(context, of: started.execution, on: executor, stop: stop, mask: mask, output: output)
        } else {
            outcome = .failure(.unsupported, executors.problem(running: event) ?? "this server cannot run the event")
        }
        let logCounts = await logHub.finish(executionId: id)
        let finishedAt = clock.now()
        do {
            let retry = Engine.retry(of: started.execution, event: event, outcome: outcome, finishedAt: finishedAt)
            let result = try await record(
                RunEnd(
                    executionId: id,
                    outcome: outcome,
                    finishedAt: finishedAt,
                    logBytes: logCounts.bytes,
                    logDroppedBytes: logCounts.droppedBytes,
                    retry: retry
                )
            )
            if result.releasedHeldRun { doorbell.ring() }
            if result.recorded {
                configuration.metrics.finished(
                    type: event.type,
                    outcome: outcome,
                    duration: finishedAt.timeIntervalSince(started.execution.startedAt ?? finishedAt)
                )
                if retry != nil { configuration.metrics.received(.retry) }
                // Actions follow the final outcome only: a run that is tried again has not ended for good.
                if retry == nil { await fireActions(after: started.execution, of: event, outcome: outcome) }
            }
        } catch {
            logger.error("could not record a run's end", metadata: ["execution.id": "\(id)", "error": "\(String(reflecting: error))"])
        }
        logHub.close(executionId: id, status: outcome.status)
        unregister(id)
    }

    func unregister(_ id: ExecutionID) {
        running.withLock { _ = $0.removeValue(forKey: id) }
    }

    /// Runs a started run with its runtime session open (scripts only: an HTTP request has no
    /// script to call back), and takes what the script set into the outcome. The session closes
    /// before the end is recorded, so the run's token is refused from then on.
    /// How runs are stopped: the engine's grace period and clock.
    var stopping: RunSupervisor.Stopping {
        RunSupervisor.Stopping(gracePeriod: configuration.killGracePeriod, clock: clock, shutdownReason: Self.shutdownReason)
    }

    func run(
        _ context: ExecutionContext,
        of execution: Execution,
        on executor: any Executor,
        stop: StopSignal,
        mask: LogMask,
        output: RunOutput
    ) async -> ExecutionOutcome {
        guard let runtime, context.event.type.isScript else {
            return await RunSupervisor.run(context, on: executor, stop: stop, output: output, stopping: stopping)
        }
        let session = RuntimeSession(
            executionId: context.executionId,
            event: context.event,
            attempt: context.attempt,
            trigger: context.trigger,
            scheduledFor: execution.scheduledFor,
            input: context.input,
            mask: mask,
            callsPerSecond: configuration.runtimeCallsPerSecond
        )
        runtime.sessions.open(session)
        defer { runtime.sessions.close(context.executionId) }
        var outcome: ExecutionOutcome
        do {
            outcome = try await runtime.gateway.withEndpoint(for: session) { endpoint in
                var context = context
                context.runtime = endpoint
                return await RunSupervisor.run(context, on: executor, stop: stop, output: output, stopping: stopping)
            }
        } catch {
            outcome = .failure(.startFailed, "could not open the run's runtime API: \(error)")
        }
        let result = session.result
        outcome.outputValue = result.outputValue ?? outcome.outputValue
        outcome.condition = result.condition ?? outcome.condition
        return outcome
    }

    /// The values of the variables the event maps into its environment, and the mask of its
    /// owner's secrets. A variable that is gone (deleted since the event was saved) fails the run
    /// before it starts, naming it.
    private func variables(of event: Event) async -> Result<(environment: [String: String], mask: LogMask), ExecutionError> {
        do {
            let mask = LogMask(secrets: try await vault.secretValues(owner: event.ownerId))
            var environment: [String: String] = [:]
            for (name, key) in (event.variables ?? [:]).sorted(by: { $0.key < $1.key }) {
                guard let value = try await vault.value(key: key, owner: event.ownerId) else {
                    return .failure(
                        ExecutionError(.startFailed, "variables.\(name): there is no variable \(key) any more; create it again or change the event")
                    )
                }
                environment[name] = value
            }
            return .success((environment, mask))
        } catch {
            logger.error("could not read a run's variables", metadata: ["event.id": "\(event.id)", "error": "\(String(reflecting: error))"])
            return .failure(ExecutionError(.startFailed, "could not read the event's variables: \(error)"))
        }
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

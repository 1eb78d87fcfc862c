import CroniumCore
import CroniumExecutors
import CroniumStore
import Foundation
import Logging

/// Takes one claimed run from its start to its recorded end: its log opened, its context
/// prepared, the executor its placement picks (or one per server), its runtime session, its end
/// recorded, its actions fired, its log closed. The dispatcher claims runs and hands each here;
/// a `REMOTE` run's parts go through the same steps (``runOnServers(_:of:on:stop:mask:)``).
struct RunPerformer: Sendable {
    let store: any Store
    let executors: ExecutorRegistry
    let logHub: LogHub
    let scheduler: Scheduler
    let clock: any EngineClock
    let configuration: Engine.Configuration
    let runtime: RuntimeAccess?
    let remote: RemoteServers
    let deliveries: DeliveryWorker
    let preparation: RunPreparation
    /// This node's runs and their stop signals (shared with the dispatcher, which cancels them).
    let running: RunningRuns
    /// The dispatcher's: rung when a run's end or actions queued or released runs.
    let claims: Doorbell
    let logger: Logger

    /// Runs one started run to its recorded end (`record`: the dispatcher's, which batches ends
    /// with its claims), then does what follows a run: wakes the claim loop for a released held
    /// run, counts it, fires its actions.
    func perform(_ started: StartedRun, stop: StopSignal, record: (RunEnd) async throws -> FinishResult) async {
        let id = started.execution.id
        let event = started.event
        if started.budgetUsedUp {
            logger.info("event reached its maximum executions and was paused", metadata: ["event.id": "\(event.id)"])
            await scheduler.markChanged(.event(event.id), resetTimetable: false)
        }
        logHub.open(executionId: id, capBytes: event.logCapBytes, now: clock.now())
        let (context, mask, unreadable) = await preparation.prepare(started)
        let hub = logHub
        let output = RunOutput { stream, lines in hub.append(executionId: id, stream: stream, lines: mask.mask(lines)) }
        let outcome: ExecutionOutcome
        if let unreadable {
            outcome = .failure(unreadable.code, unreadable.message)
        } else if let executor = executors.executor(at: event.runLocation, for: event.type) {
            outcome =
                event.runLocation == .remote
                ? await runOnServers(context, of: started, on: executor, stop: stop, mask: mask)
                : await run(context, of: started, on: executor, stop: stop, mask: mask, output: output)
        } else {
            outcome = .failure(.unsupported, executors.problem(running: event) ?? "this server cannot run the event")
        }
        let log = await logHub.takeFinal(executionId: id)
        let finishedAt = clock.now()
        do {
            let retry = Engine.retry(of: started.execution, event: event, outcome: outcome, finishedAt: finishedAt)
            let result = try await record(
                RunEnd(
                    executionId: id,
                    outcome: outcome,
                    finishedAt: finishedAt,
                    logBytes: log.bytes,
                    logDroppedBytes: log.droppedBytes,
                    retry: retry,
                    logLines: log.lines
                )
            )
            if result.releasedHeldRun { claims.ring() }
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
        logHub.written(executionId: id)
        logHub.close(executionId: id, status: outcome.status)
        running.unregister(id)
    }

    /// How runs are stopped: the engine's grace period and clock.
    var stopping: RunSupervisor.Stopping {
        RunSupervisor.Stopping(
            gracePeriod: configuration.killGracePeriod,
            clock: clock,
            shutdownReason: Dispatcher.shutdownReason,
            shutdownInterrupts: true
        )
    }

    /// Runs a started run with its runtime session open (scripts only: an HTTP request has no
    /// script to call back), and takes what the script set into the outcome. The session closes
    /// before the end is recorded, so the run's token is refused from then on.
    func run(
        _ context: ExecutionContext,
        of started: StartedRun,
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
            scheduledFor: started.execution.scheduledFor,
            input: context.input,
            workflow: started.workflow,
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

    /// Stops a run: a queued one is marked cancelled at once, a running one is told to stop (the
    /// request is recorded first). False when it had already ended.
    func cancel(executionId: ExecutionID, reason: String) async throws -> Bool {
        switch try await RunQueue(queue: store).requestCancel(executionId: executionId, reason: reason, at: clock.now()) {
        case .cancelledWhileQueued(let releasedHeldRun):
            if releasedHeldRun { claims.ring() }
            logHub.runsChanged()
            return true
        case .ended:
            return false
        case .running:
            let early = running.stop(executionId, reason: reason)
            // The run may have been recorded as ended in between; then nobody will take the signal.
            if early, try await store.execution(id: executionId)?.status.isFinal ?? true {
                running.unregister(executionId)
            }
            return true
        }
    }
}

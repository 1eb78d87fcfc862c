import CroniumCore
import CroniumExecutors
import Foundation

/// Takes one run through its executor: prepare, run until it ends, its deadline passes or it is
/// stopped, teardown. The only place where a deadline or a cancel becomes an outcome, and the
/// only place that stops a run: `terminate`, then `kill` after the grace period, for every
/// executor alike. Executors only start, stream and act on those requests.
public enum RunSupervisor {
    /// How a run is stopped, and by which clock its deadline and grace period are measured.
    public struct Stopping: Sendable {
        /// Between `terminate` and `kill`.
        public var gracePeriod: Duration
        public var clock: any EngineClock
        /// The reason recorded when the calling task is cancelled (the server stopping).
        public var shutdownReason: String
        /// Whether a stop for `shutdownReason` records the run as interrupted (the engine's runs:
        /// as after a crash, with its retries) rather than cancelled.
        public var shutdownInterrupts: Bool

        public init(
            gracePeriod: Duration = .seconds(5),
            clock: any EngineClock = SystemClock(),
            shutdownReason: String = "cancelled",
            shutdownInterrupts: Bool = false
        ) {
            self.gracePeriod = gracePeriod
            self.clock = clock
            self.shutdownReason = shutdownReason
            self.shutdownInterrupts = shutdownInterrupts
        }
    }

    /// Runs `context` on `executor`. `stop` resolves when someone cancels the run (with why);
    /// cancelling the calling task stops it the same way, with `stopping.shutdownReason`, and
    /// still waits for its end (after at most the grace period).
    public static func run(
        _ context: ExecutionContext,
        on executor: any Executor,
        stop: StopSignal = StopSignal(),
        output: RunOutput,
        stopping: Stopping = Stopping()
    ) async -> ExecutionOutcome {
        let prepared: any PreparedRun
        do {
            prepared = try await executor.prepare(context, output: output)
        } catch {
            return .failure(error.code, error.message)
        }
        if let reason = stop.reason ?? (Task.isCancelled ? stopping.shutdownReason : nil) {
            await prepared.teardown()
            return stopped(reason, stopping)
        }
        // The timeout is the run's own: time spent preparing (a sandbox, a container image) moves
        // the deadline by as much.
        let timeout = context.event.timeoutSeconds
        let remaining = max(ContinuousClock.now.duration(to: context.deadline), .seconds(timeout))
        let deadline = stopping.clock.now().addingTimeInterval(remaining / .seconds(1))
        // Not a child of the calling task: cancelling that task (the server stopping) must stop the
        // run through its stop sequence, with its output read to the end, not tear it down half-way.
        // The run's one unstructured task, awaited here.
        let supervised = Task {
            await supervise(prepared, timeout: timeout, deadline: deadline, stop: stop, output: output, stopping: stopping)
        }
        let outcome = await withTaskCancellationHandler {
            await supervised.value
        } onCancel: {
            stop.stop(stopping.shutdownReason)
        }
        await prepared.teardown()
        return outcome
    }

    private static func supervise(
        _ prepared: any PreparedRun,
        timeout: Int,
        deadline: Date,
        stop: StopSignal,
        output: RunOutput,
        stopping: Stopping
    ) async -> ExecutionOutcome {
        let (stops, requests) = StopRequests.makeStream()
        defer { requests.finish() }
        let clock = stopping.clock
        return await withTaskGroup(of: Arm.self) { group in
            group.addTask { .finished(await prepared.run(output: output, stops: stops)) }
            group.addTask {
                do { try await clock.sleep(until: deadline) } catch { return .cancelled }
                return .deadline
            }
            group.addTask {
                await stop.wait()
                return .stopped
            }
            var verdict: ExecutionOutcome?
            while let arm = await group.next() {
                switch arm {
                case .finished(let outcome):
                    group.cancelAll()
                    if verdict == nil, let reason = stop.reason { verdict = stopped(reason, stopping) }
                    guard var verdict else { return outcome }
                    verdict.exitCode = outcome.exitCode
                    return verdict
                case .deadline where verdict == nil:
                    await output(.system, "timed out after \(timeout)s; stopping the run")
                    verdict = .failure(.timedOut, "timed out after \(timeout)s", status: .timeout)
                case .stopped where verdict == nil:
                    verdict = stopped(stop.reason ?? stopping.shutdownReason, stopping)
                case .gracePeriodOver:
                    requests.yield(.kill)
                    continue
                default:
                    continue
                }
                // The run was just told to stop: TERM now, KILL when the grace period is over.
                requests.yield(.terminate)
                let grace = clock.now().addingTimeInterval(stopping.gracePeriod / .seconds(1))
                group.addTask {
                    do { try await clock.sleep(until: grace) } catch { return .cancelled }
                    return .gracePeriodOver
                }
            }
            preconditionFailure("the run's task always reports")
        }
    }

    /// What a stop for `reason` records: the server stopping interrupts the run, as a crash
    /// would (the same code, and its retries); anyone else's stop cancels it.
    private static func stopped(_ reason: String, _ stopping: Stopping) -> ExecutionOutcome {
        stopping.shutdownInterrupts && reason == stopping.shutdownReason
            ? .failure(.interrupted, reason) : .failure(.cancelled, reason, status: .cancelled)
    }

    private enum Arm: Sendable {
        case finished(ExecutionOutcome)
        case deadline
        case stopped
        case gracePeriodOver
        case cancelled
    }
}

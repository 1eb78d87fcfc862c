import CroniumCore
import CroniumExecutors
import Foundation

/// Takes one run through its executor: prepare, run until it ends, its deadline passes or it is
/// cancelled, teardown. The only place where a deadline or a cancel becomes an outcome, so every
/// executor only starts, streams and stops.
public enum RunSupervisor {
    /// Runs `context` on `executor`. `stop` resolves when someone cancels the run (with why);
    /// cancelling the calling task works the same way, with `shutdownReason`.
    public static func run(
        _ context: ExecutionContext,
        on executor: any Executor,
        stop: StopSignal = StopSignal(),
        output: RunOutput,
        shutdownReason: String = "cancelled"
    ) async -> ExecutionOutcome {
        let prepared: any PreparedRun
        do {
            prepared = try await executor.prepare(context, output: output)
        } catch {
            return .failure(error.code, error.message)
        }
        if let reason = stop.reason ?? (Task.isCancelled ? shutdownReason : nil) {
            await prepared.teardown()
            return .failure(.cancelled, reason, status: .cancelled)
        }
        let timeout = context.event.timeoutSeconds
        // The timeout is the run's own: time spent preparing (a sandbox, a container image) moves
        // the deadline by as much.
        let deadline = max(context.deadline, .now + .seconds(timeout))
        let outcome = await withTaskGroup(of: Arm.self) { group in
            group.addTask { .finished(await prepared.run(output: output)) }
            group.addTask {
                do { try await Task.sleep(until: deadline, clock: .continuous) } catch { return .stopped }
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
                    if verdict == nil, let reason = stop.reason ?? (Task.isCancelled ? shutdownReason : nil) {
                        verdict = .failure(.cancelled, reason, status: .cancelled)
                    }
                    guard var verdict else { return outcome }
                    verdict.exitCode = outcome.exitCode
                    return verdict
                case .deadline where verdict == nil:
                    await output(.system, "timed out after \(timeout)s; stopping the run")
                    verdict = .failure(.timedOut, "timed out after \(timeout)s", status: .timeout)
                    group.cancelAll()
                case .stopped where verdict == nil:
                    verdict = .failure(.cancelled, stop.reason ?? shutdownReason, status: .cancelled)
                    group.cancelAll()
                default:
                    break
                }
            }
            return verdict ?? .failure(.cancelled, shutdownReason, status: .cancelled)
        }
        await prepared.teardown()
        return outcome
    }

    private enum Arm: Sendable {
        case finished(ExecutionOutcome)
        case deadline
        case stopped
    }
}

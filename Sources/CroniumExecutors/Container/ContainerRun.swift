import CroniumCore
import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// One created container: started by ``run(output:)``, its output read from the run's FIFOs until
/// it stops, removed with the run's directory by ``teardown()``.
///
/// Cancelling the task that awaits `run` stops the container with the engine's own sequence
/// (SIGTERM, SIGKILL after the grace period); what the script prints meanwhile is kept.
struct ContainerRun: PreparedRun {
    let client: DockerClient
    let id: String
    let image: String
    let directory: String
    /// The FIFOs the script's stdout and stderr go to.
    let outputs: (stdout: String, stderr: String)
    let gracePeriod: Duration

    private enum State {
        case starting, running, stopRequested, stopping
    }

    /// Shared by the run and its cancel handler.
    private final class Lifecycle: Sendable {
        private let state = Mutex(State.starting)
        func withLock<T>(_ body: (inout State) -> T) -> T { state.withLock { body(&$0) } }
    }

    func run(output: RunOutput) async -> ExecutionOutcome {
        let state = Lifecycle()
        // Not a child task: a cancel must end the container by `stop`, and the output it prints
        // while stopping must still be read.
        let container = Task { await self.execute(output: output, state: state) }
        return await withTaskCancellationHandler {
            await container.value
        } onCancel: {
            let stopNow = state.withLock { state -> Bool in
                switch state {
                case .starting:
                    state = .stopRequested
                    return false
                case .running:
                    state = .stopping
                    return true
                case .stopRequested, .stopping: return false
                }
            }
            if stopNow { Task { await stop() } }
        }
    }

    private func stop() async {
        do { try await client.stopContainer(id, grace: gracePeriod) } catch { try? await client.killContainer(id) }
    }

    private func execute(output: RunOutput, state: Lifecycle) async -> ExecutionOutcome {
        // Each FIFO's read end, and a write end of the server's own that keeps the read end from
        // seeing its end before the script has opened it; closed once the container has stopped.
        var descriptors: [Int32] = []
        for path in [outputs.stdout, outputs.stderr] {
            descriptors.append(open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC))
            descriptors.append(open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC))
        }
        if descriptors.contains(where: { $0 < 0 }) {
            let reason = String(cString: strerror(errno))
            for fd in descriptors where fd >= 0 { close(fd) }
            return .failure(.startFailed, "could not open the run's output: \(reason)")
        }
        let holdOpen = [descriptors[1], descriptors[3]]
        do {
            try await client.startContainer(id)
        } catch {
            for fd in descriptors { close(fd) }
            return .failure(.startFailed, "could not start the container of \(image): \(error.description)")
        }
        let stopAtOnce = state.withLock { state -> Bool in
            defer { state = state == .stopRequested ? .stopping : .running }
            return state == .stopRequested
        }
        if stopAtOnce { Task { await stop() } }
        // The output ends when the container's processes have closed the FIFOs and the server its
        // own write ends; the wait says how it ended.
        async let drained: Void = ProcessRun.drain(stdout: descriptors[0], stderr: descriptors[2], output: output)
        let status: Int
        do {
            status = try await client.waitContainer(id)
        } catch {
            try? await client.killContainer(id)
            for fd in holdOpen { close(fd) }
            await drained
            return .failure(.startFailed, "lost the container while it ran: \(error.description)")
        }
        for fd in holdOpen { close(fd) }
        await drained
        let details = try? await client.inspectContainer(id)
        let stoppedByUs = state.withLock { $0 == .stopping }
        if details?.state.oomKilled == true {
            return .failure(
                .outOfMemory,
                "out of memory: the run used more memory than its limit (limits.memoryMB) and was ended",
                exitCode: status
            )
        }
        // Some engines (Podman on cgroup v1) do not tell an OOM kill: a SIGKILL that Cronium did
        // not send is the kernel's at the memory limit unless the script sent it itself.
        if status == 137 && !stoppedByUs {
            return .failure(
                .outOfMemory,
                "out of memory: the run's process was killed (SIGKILL), as the kernel does at its memory limit (limits.memoryMB)",
                exitCode: status
            )
        }
        switch status {
        case 0: return .success
        case 129...159: return .failure(.killedBySignal, "killed by signal \(status - 128)", exitCode: status)
        default: return .failure(.exitStatus, "exited with status \(status)", exitCode: status)
        }
    }

    func teardown() async {
        try? await client.removeContainer(id)
        try? FileManager.default.removeItem(atPath: directory)
    }
}

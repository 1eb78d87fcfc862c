import CroniumCore
import Foundation
import NIOCore
import Synchronization

/// One created container: started by ``run(output:)``, its output streamed from the engine until
/// it stops, removed with the run's directory by ``teardown()``.
///
/// Cancelling the task that awaits `run` stops the container with the engine's own sequence
/// (SIGTERM, SIGKILL after the grace period); what the script prints meanwhile is kept.
struct ContainerRun: PreparedRun {
    let client: DockerClient
    let id: String
    let image: String
    let directory: String
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
        do {
            try await client.startContainer(id)
        } catch {
            return .failure(.startFailed, "could not start the container of \(image): \(error.description)")
        }
        let stopAtOnce = state.withLock { state -> Bool in
            defer { state = state == .stopRequested ? .stopping : .running }
            return state == .stopRequested
        }
        if stopAtOnce { Task { await stop() } }
        // The logs end when the container stops; the wait says how it ended.
        async let logs: Void = follow(output: output)
        let status: Int
        do {
            status = try await client.waitContainer(id)
        } catch {
            try? await client.killContainer(id)
            await logs
            return .failure(.startFailed, "lost the container while it ran: \(error.description)")
        }
        await logs
        let details = try? await client.inspectContainer(id)
        let stoppedByUs = state.withLock { $0 == .stopping }
        if details?.state.oomKilled == true {
            return .failure(
                .outOfMemory, "out of memory: the run used more memory than its limit (limits.memoryMB) and was ended", exitCode: status)
        }
        // Some engines (Podman on cgroup v1) do not tell an OOM kill: a SIGKILL that Cronium did
        // not send is the kernel's at the memory limit unless the script sent it itself.
        if status == 137 && !stoppedByUs {
            return .failure(
                .outOfMemory,
                "out of memory: the run's process was killed (SIGKILL), as the kernel does at its memory limit (limits.memoryMB)", exitCode: status)
        }
        switch status {
        case 0: return .success
        case 129...159: return .failure(.killedBySignal, "killed by signal \(status - 128)", exitCode: status)
        default: return .failure(.exitStatus, "exited with status \(status)", exitCode: status)
        }
    }

    /// Both streams, line by line, as the engine delivers them.
    private func follow(output: RunOutput) async {
        var splitters: [LogStream: LineSplitter] = [.stdout: LineSplitter(), .stderr: LineSplitter()]
        do {
            try await client.followLogs(id) { stream, payload in
                let logStream: LogStream = stream == .stderr ? .stderr : .stdout
                let lines = payload.withUnsafeReadableBytes { splitters[logStream, default: LineSplitter()].feed($0) }
                await output(logStream, lines: lines)
            }
        } catch {
            await output(.system, "the container's output could not be read to its end: \(error.description)")
        }
        for stream in [LogStream.stdout, .stderr] {
            if let last = splitters[stream]?.finish() { await output(stream, last) }
        }
    }

    func teardown() async {
        try? await client.removeContainer(id)
        try? FileManager.default.removeItem(atPath: directory)
    }
}

import CroniumCore
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// One created container: started by ``run(output:stops:)``, its output read from the run's FIFOs
/// until it stops, removed with the run's directory by ``teardown()``.
///
/// The engine's stop requests become signals to the container (`TERM`, then `KILL`); what the
/// script prints meanwhile is kept.
struct ContainerRun: PreparedRun {
    let client: DockerClient
    let id: String
    let image: String
    let directory: String
    /// The FIFOs the script's stdout and stderr go to.
    let outputs: (stdout: String, stderr: String)

    func run(output: RunOutput, stops: StopRequests) async -> ExecutionOutcome {
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
        let (readEnds, holdOpen) = ((descriptors[0], descriptors[2]), [descriptors[1], descriptors[3]])
        do {
            try await client.startContainer(id)
        } catch {
            for fd in descriptors { close(fd) }
            return .failure(.startFailed, "could not start the container of \(image): \(error.description)")
        }
        // The output ends when the container's processes have closed the FIFOs and the server its
        // own write ends; the wait says how it ended. Requests that came before the start wait in
        // the stream, and are sent now.
        let (status, stoppedByUs) = await withTaskGroup(of: Arm.self) { group in
            group.addTask { [client, id] in
                var stopped = false
                for await request in stops {
                    stopped = true
                    do { try await client.killContainer(id, signal: request == .terminate ? "TERM" : "KILL") } catch {}
                }
                return .stops(sent: stopped)
            }
            group.addTask {
                await ProcessRun.drain(stdout: readEnds.0, stderr: readEnds.1, output: output)
                return .drained
            }
            let status: Result<Int, DockerError>
            do throws(DockerError) { status = .success(try await client.waitContainer(id)) } catch {
                try? await client.killContainer(id)
                status = .failure(error)
            }
            for fd in holdOpen { close(fd) }
            // The output is read to its end; then no request is sent to a container that has stopped.
            var (stopped, drained) = (false, false)
            while !drained, let arm = await group.next() {
                switch arm {
                case .stops(let sent): stopped = stopped || sent
                case .drained: drained = true
                }
            }
            group.cancelAll()
            while let arm = await group.next() { if case .stops(let sent) = arm { stopped = stopped || sent } }
            return (status, stopped)
        }
        let code: Int
        switch status {
        case .success(let value): code = value
        case .failure(let error): return .failure(.startFailed, "lost the container while it ran: \(error.description)")
        }
        let details = try? await client.inspectContainer(id)
        if details?.state.oomKilled == true {
            return .failure(
                .outOfMemory,
                "out of memory: the run used more memory than its limit (limits.memoryMB) and was ended",
                exitCode: code
            )
        }
        // Some engines (Podman on cgroup v1) do not tell an OOM kill: a SIGKILL that Cronium did
        // not send is the kernel's at the memory limit unless the script sent it itself.
        if code == 137 && !stoppedByUs {
            return .failure(
                .outOfMemory,
                "out of memory: the run's process was killed (SIGKILL), as the kernel does at its memory limit (limits.memoryMB)",
                exitCode: code
            )
        }
        switch code {
        case 0: return .success
        case 129...159: return .failure(.killedBySignal, "killed by signal \(code - 128)", exitCode: code)
        default: return .failure(.exitStatus, "exited with status \(code)", exitCode: code)
        }
    }

    private enum Arm: Sendable {
        case stops(sent: Bool)
        case drained
    }

    func teardown() async {
        try? await client.removeContainer(id)
        try? FileManager.default.removeItem(atPath: directory)
    }
}

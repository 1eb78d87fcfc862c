import CroniumCore
import Foundation
import Subprocess

#if canImport(Glibc)
import Glibc
#endif
#if canImport(System)
import System
#else
import SystemPackage
#endif

/// One child process in its own session, with both output pipes drained concurrently.
struct ProcessRun: Sendable {
    let command: [String]
    let environment: [String: String]
    let workDirectory: String
    let gracePeriod: Duration

    func run(output: @escaping OutputHandler) async -> ExecutionOutcome {
        var options = PlatformOptions()
        // Own session => own process group (pgid == pid), so one signal reaches every descendant.
        options.createSession = true
        options.teardownSequence = [.gracefulShutDown(toProcessGroup: true, allowedDurationToNextStep: gracePeriod)]
        var env: [Environment.Key: String] = [:]
        for (key, value) in environment { env[Environment.Key(stringLiteral: key)] = value }
        do {
            let result = try await Subprocess.run(
                .path(FilePath(command[0])),
                arguments: Arguments(Array(command.dropFirst())),
                environment: .custom(env),
                workingDirectory: FilePath(workDirectory),
                platformOptions: options,
                input: .none,
                output: .sequence,
                error: .sequence
            ) { execution in
                let pid = execution.processIdentifier.value
                let pidfd = execution.processIdentifier.processDescriptor
                let (stdout, stderr) = (execution.standardOutput, execution.standardError)
                // Not a child task: a timeout or cancel must not stop the reading, so what the
                // script prints while it handles SIGTERM (sent by the teardown sequence, SIGKILL
                // following after the grace period) still reaches the log.
                let reading = Task {
                    await withTaskGroup(of: Void.self) { group in
                        group.addTask { await Self.drain(stdout, stream: .stdout, output: output) }
                        group.addTask { await Self.drain(stderr, stream: .stderr, output: output) }
                        // A background child that inherited the pipes would keep them open after the
                        // script ended; once the script has exited, its whole group is killed.
                        let reaper = Task { await Self.killGroupAfterExit(pid: pid, pidfd: pidfd) }
                        await group.waitForAll()
                        reaper.cancel()
                    }
                }
                await reading.value
                // Anything still in the group (for example a child that closed its output) goes too.
                kill(-pid, SIGKILL)
            }
            switch result.terminationStatus {
            case .exited(let code):
                return code == 0
                    ? ExecutionOutcome(status: .success, exitCode: 0)
                    : ExecutionOutcome(status: .failure, exitCode: Int(code), error: "exited with status \(code)")
            case .signaled(let signal):
                return ExecutionOutcome(status: .failure, exitCode: 128 + Int(signal), error: "killed by signal \(signal)")
            }
        } catch {
            return ExecutionOutcome(status: .failure, error: "could not start \(command[0]): \(error)")
        }
    }

    private static func drain(_ sequence: SubprocessOutputSequence, stream: LogStream, output: OutputHandler) async {
        var splitter = LineSplitter()
        do {
            for try await buffer in sequence {
                let lines = buffer.withUnsafeBytes { splitter.feed($0) }
                for line in lines { await output(stream, line) }
            }
        } catch {
            await output(.system, "reading \(stream.rawValue) failed: \(error)")
        }
        if let last = splitter.finish() { await output(stream, last) }
    }

    /// Waits (cheaply polling the pidfd) until the main process has exited, then kills its group.
    private static func killGroupAfterExit(pid: pid_t, pidfd: CInt) async {
        while !Task.isCancelled {
            if hasExited(pidfd: pidfd) {
                kill(-pid, SIGKILL)
                return
            }
            try? await Task.sleep(for: .milliseconds(50))
        }
    }

    private static func hasExited(pidfd: CInt) -> Bool {
        guard pidfd >= 0 else { return false }
        var entry = pollfd(fd: pidfd, events: Int16(POLLIN), revents: 0)
        return poll(&entry, 1, 0) > 0
    }
}

import CroniumCore
import Foundation
import Subprocess
import Synchronization

#if canImport(Glibc)
import Glibc
#endif
#if canImport(System)
import System
#else
import SystemPackage
#endif

/// One child process in its own session, with both output pipes drained concurrently.
///
/// Cancelling the calling task stops the process with Cronium's own sequence: SIGTERM, then
/// SIGKILL to the whole process group after the grace period. The process itself runs in a task
/// that is never cancelled, because `swift-subprocess` answers a cancel with its own teardown,
/// which would signal bubblewrap too: bubblewrap dies of SIGTERM and takes the sandbox, script
/// included, down with it before the script's own handler has run.
struct ProcessRun: Sendable {
    let command: [String]
    let environment: [String: String]
    let workDirectory: String
    let gracePeriod: Duration
    /// Sandboxed runs: the group leader is bubblewrap, which SIGTERM must spare (see above); the
    /// script's processes get it, and bubblewrap exits with the script's status.
    let leaderIsSandbox: Bool

    private enum State {
        case starting
        case running(pid_t)
        case stopRequested
        case ended
    }

    /// Shared between the process's task, the cancel handler and the delayed SIGKILL.
    private final class Lifecycle: Sendable {
        private let state = Mutex(State.starting)
        func withLock<T>(_ body: (inout State) -> T) -> T { state.withLock { body(&$0) } }
    }

    func run(output: @escaping OutputHandler) async -> ExecutionOutcome {
        let state = Lifecycle()
        let process = Task { await self.spawn(output: output, state: state) }
        return await withTaskCancellationHandler {
            await process.value
        } onCancel: {
            let pid = state.withLock { state -> pid_t? in
                switch state {
                case .running(let pid): return pid
                case .starting: state = .stopRequested
                case .stopRequested, .ended: break
                }
                return nil
            }
            if let pid { stop(group: pid, state: state) }
        }
    }

    private func spawn(output: @escaping OutputHandler, state: Lifecycle) async -> ExecutionOutcome {
        var options = PlatformOptions()
        // Own session => own process group (pgid == pid), so one signal reaches every descendant.
        options.createSession = true
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
                let stopAtOnce = state.withLock { state -> Bool in
                    defer { state = .running(pid) }
                    if case .stopRequested = state { return true }
                    return false
                }
                if stopAtOnce { stop(group: pid, state: state) }
                await withTaskGroup(of: Void.self) { group in
                    group.addTask { await Self.drain(execution.standardOutput, stream: .stdout, output: output) }
                    group.addTask { await Self.drain(execution.standardError, stream: .stderr, output: output) }
                    // A background child that inherited the pipes would keep them open after the
                    // script ended; once the script has exited, its whole group is killed.
                    let reaper = Task { await Self.killGroupAfterExit(pid: pid, pidfd: pidfd) }
                    await group.waitForAll()
                    reaper.cancel()
                }
                // Anything still in the group (for example a child that closed its output) goes too.
                state.withLock { state in
                    kill(-pid, SIGKILL)
                    state = .ended
                }
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

    /// SIGTERM now (to the script's processes), SIGKILL to the whole group after the grace
    /// period unless the run has ended by then.
    private func stop(group pid: pid_t, state: Lifecycle) {
        let members = leaderIsSandbox ? Self.processes(inGroup: pid).filter { $0 != pid } : []
        if members.isEmpty {
            // Not sandboxed, or bubblewrap has not started the script yet: nothing to spare.
            kill(-pid, SIGTERM)
        } else {
            for member in members { kill(member, SIGTERM) }
        }
        let grace = gracePeriod
        Task {
            try? await Task.sleep(for: grace)
            // Only while the run is still being read: once it has ended (its group killed at the
            // end, under this lock) the id may belong to someone else and is left alone.
            state.withLock { state in
                if case .running = state { kill(-pid, SIGKILL) }
            }
        }
    }

    /// The ids of every process whose process group is `group`, from /proc.
    static func processes(inGroup group: pid_t) -> [pid_t] {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
        return entries.compactMap { entry -> pid_t? in
            // Decoded leniently: a process name cut at 15 bytes may end inside a UTF-8 character.
            guard let pid = pid_t(entry), let data = FileManager.default.contents(atPath: "/proc/\(entry)/stat"),
                case let stat = String(decoding: data, as: UTF8.self),
                let afterName = stat.lastIndex(of: ")")
            else { return nil }
            // "pid (name) state ppid pgrp …": the name may hold spaces and parentheses.
            let fields = stat[stat.index(after: afterName)...].split(separator: " ")
            return fields.count > 2 && pid_t(fields[2]) == group ? pid : nil
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

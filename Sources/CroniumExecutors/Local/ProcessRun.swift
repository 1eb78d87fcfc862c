import CroniumCore
import Foundation
import NIOCore
import NIOPosix
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// One child process in its own session, with both output pipes read on NIO's event loops.
///
/// Cancelling the calling task stops the process with Cronium's own sequence: SIGTERM, then
/// SIGKILL to the whole process group after the grace period. A run that hits its memory or
/// process limit is ended at once, with the matching error code.
struct ProcessRun: Sendable {
    let spec: SpawnSpec
    let gracePeriod: Duration
    /// Sandboxed runs: the group leader is bubblewrap, which SIGTERM must spare (bubblewrap dies of
    /// it and takes the sandbox down before the script's own handler has run); the script's
    /// processes get it, and bubblewrap exits with the script's status.
    let leaderIsSandbox: Bool
    let cgroup: RunCgroup?
    /// Runs on the spawning thread once the spawn has been tried (with the child, or nil when it
    /// failed): the parent's copies of the child's descriptors go, and a sandbox is admitted to its
    /// cgroup. When it throws, the child is killed and the run fails with its error.
    let afterSpawn: @Sendable (ChildProcess?) throws -> Void

    private enum State {
        case starting
        case running(pid_t)
        case stopRequested
        case ended
    }

    /// Shared between the run, the cancel handler, the limit watch and the delayed SIGKILL.
    private final class Lifecycle: Sendable {
        private let state = Mutex(State.starting)
        /// The limit that ended the run, if one did.
        let limitHit = Mutex<ExecutionErrorCode?>(nil)
        func withLock<T>(_ body: (inout State) -> T) -> T { state.withLock { body(&$0) } }
    }

    func run(output: RunOutput) async -> ExecutionOutcome {
        let state = Lifecycle()
        // Not a child task: cancelling it must not tear the process down by any other way than `stop`.
        let process = Task { await self.execute(output: output, state: state) }
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

    /// Threads that only start runs and live as long as the process. Not NIO's shared pool: the
    /// SQLite driver runs every statement there, and a spawn queued behind them would start late.
    static let spawners: NIOThreadPool = {
        let pool = NIOThreadPool(numberOfThreads: System.coreCount)
        pool.start()
        return pool
    }()

    private func execute(output: RunOutput, state: Lifecycle) async -> ExecutionOutcome {
        let child: ChildProcess
        do {
            // From a thread that lives as long as the server: bubblewrap's --die-with-parent ends
            // the sandbox when the thread that started it exits.
            let (spec, afterSpawn) = (self.spec, self.afterSpawn)
            child = try await Self.spawners.runIfActive {
                let child: ChildProcess
                do {
                    child = try ChildProcess.spawn(spec)
                } catch {
                    try? afterSpawn(nil)
                    throw error
                }
                do {
                    try afterSpawn(child)
                } catch {
                    kill(-child.pid, SIGKILL)
                    close(child.stdout)
                    close(child.stderr)
                    child.reap()
                    throw error
                }
                return child
            }
        } catch {
            return .failure(.startFailed, "could not start \(spec.argv[0]): \(error)")
        }
        let pid = child.pid
        let stopAtOnce = state.withLock { state -> Bool in
            defer { state = .running(pid) }
            if case .stopRequested = state { return true }
            return false
        }
        if stopAtOnce { stop(group: pid, state: state) }
        await withTaskGroup(of: Watch.self) { group in
            group.addTask {
                await ExitWatcher.shared.exit(of: pid)
                // A background child that inherited the pipes would keep them open: the group
                // ends with its leader.
                kill(-pid, SIGKILL)
                return .exited
            }
            if let cgroup { group.addTask { await self.watchLimits(of: cgroup, group: pid, state: state) } }
            await Self.drain(stdout: child.stdout, stderr: child.stderr, output: output)
            // The pipes can close before the process ends; wait for the end itself.
            while let watch = await group.next(), watch != .exited {}
            group.cancelAll()
        }
        let termination = child.reap()
        // Anything still in the group (for example a child that closed its output) goes too.
        state.withLock { state in
            kill(-pid, SIGKILL)
            state = .ended
        }
        // A limit also explains a failure the watch did not see coming: the kernel ended the
        // process at its memory limit, or a fork failed, and the script then exited at once.
        let failed = termination != .exited(0)
        let hit = state.limitHit.withLock { $0 } ?? (failed ? cgroup?.limitHit : nil)
        if let code = hit {
            let message =
                code == .outOfMemory
                ? "out of memory: the run used more memory than its limit (limits.memoryMB) and was ended"
                : "too many processes: the run tried to start more than its limit (limits.processes) and was ended"
            return .failure(code, message, exitCode: termination.exitCode)
        }
        switch termination {
        case .exited(0): return .success
        case .exited(let code): return .failure(.exitStatus, "exited with status \(code)", exitCode: code)
        case .signaled(let signal): return .failure(.killedBySignal, "killed by signal \(signal)", exitCode: termination.exitCode)
        }
    }

    private enum Watch { case exited, limitsWatched }

    /// Every 50 ms until the run ends: a run over its memory or process limit is ended at once
    /// (the kernel may have ended only one of its processes, or refused a fork the script survives).
    private func watchLimits(of cgroup: RunCgroup, group pid: pid_t, state: Lifecycle) async -> Watch {
        while true {
            do { try await Task.sleep(for: .milliseconds(50)) } catch { return .limitsWatched }
            if let hit = cgroup.limitHit {
                state.limitHit.withLock { $0 = $0 ?? hit }
                // Everything in the group, the sandbox's own processes included.
                kill(-pid, SIGKILL)
                return .limitsWatched
            }
        }
    }

    /// SIGTERM now (to the script's processes), SIGKILL to the whole group after the grace
    /// period unless the run has ended by then.
    private func stop(group pid: pid_t, state: Lifecycle) {
        let members = leaderIsSandbox ? Self.processes(inGroup: pid).filter { $0 != pid } : []
        if leaderIsSandbox && members.isEmpty {
            // bubblewrap has not started the script yet: there is nothing to clean up, and
            // bubblewrap itself would shrug SIGTERM off and start the script anyway.
            kill(-pid, SIGKILL)
        } else if members.isEmpty {
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

    /// Reads both pipes (which it then owns) to their ends, line by line, in the order written.
    /// Container runs read their FIFOs with it too.
    static func drain(stdout: Int32, stderr: Int32, output: RunOutput) async {
        var splitters: [LogStream: LineSplitter] = [.stdout: LineSplitter(), .stderr: LineSplitter()]
        for await chunk in await OutputPipes.read(stdout: stdout, stderr: stderr) {
            let lines = chunk.bytes.withUnsafeReadableBytes { splitters[chunk.stream, default: LineSplitter()].feed($0) }
            await output(chunk.stream, lines: lines)
        }
        for stream in [LogStream.stdout, .stderr] {
            if let last = splitters[stream]?.finish() { await output(stream, last) }
        }
    }
}

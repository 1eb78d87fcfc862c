import AsyncAlgorithms
import CroniumCore
import Foundation
import NIOCore
import NIOPosix

#if canImport(Glibc)
    import Glibc
#endif

/// One child process in its own session, with both output pipes read on NIO's event loops.
///
/// The engine's stop requests become signals: `terminate` sends SIGTERM to the script's
/// processes, `kill` SIGKILL to the whole process group. A run that hits its memory or process
/// limit is ended at once, with the matching error code.
struct ProcessRun: Sendable {
    let spec: SpawnSpec
    let exits: ExitWatcher
    /// Sandboxed runs: the group leader is bubblewrap, which SIGTERM must spare (bubblewrap dies of
    /// it and takes the sandbox down before the script's own handler has run); the script's
    /// processes get it, and bubblewrap exits with the script's status.
    let leaderIsSandbox: Bool
    let cgroup: RunCgroup?
    /// Runs on the spawning thread once the spawn has been tried (with the child, or nil when it
    /// failed): the parent's copies of the child's descriptors go, and a sandbox is admitted to its
    /// cgroup. When it throws, the child is killed and the run fails with its error.
    let afterSpawn: @Sendable (ChildProcess?) throws -> Void

    /// Threads that only start runs and live as long as the process. Not NIO's shared pool: any
    /// library's blocking work may queue there, and a spawn queued behind it would start late.
    static let spawners: NIOThreadPool = {
        let pool = NIOThreadPool(numberOfThreads: System.coreCount)
        pool.start()
        return pool
    }()

    func run(output: RunOutput, stops: StopRequests) async -> ExecutionOutcome {
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
        var limitHit: ExecutionErrorCode?
        await withTaskGroup(of: Watch.self) { group in
            group.addTask {
                await exits.exit(of: pid)
                // A background child that inherited the pipes would keep them open: the group
                // ends with its leader.
                kill(-pid, SIGKILL)
                return .exited
            }
            if let cgroup { group.addTask { await self.watchLimits(of: cgroup, group: pid) } }
            // Requests that came before the spawn wait in the stream, and are acted on now.
            group.addTask {
                for await request in stops { self.deliver(request, toGroup: pid) }
                return .stopsEnded
            }
            await Self.drain(stdout: child.stdout, stderr: child.stderr, output: output)
            // The pipes can close before the process ends; wait for the end itself.
            while let watch = await group.next() {
                if case .limitHit(let code) = watch { limitHit = code }
                if case .exited = watch { break }
            }
            group.cancelAll()
        }
        // Anything still in the group (a child that closed its output) goes too. The leader is
        // not reaped yet, so its id cannot belong to anyone else.
        kill(-pid, SIGKILL)
        let termination = child.reap()
        // A limit also explains a failure the watch did not see coming: the kernel ended the
        // process at its memory limit, or a fork failed, and the script then exited at once.
        let failed = termination != .exited(0)
        let hit = limitHit ?? (failed ? cgroup?.limitHit : nil)
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

    private enum Watch {
        case exited
        case limitHit(ExecutionErrorCode)
        case limitsWatched
        case stopsEnded
    }

    /// Every 50 ms until the run ends: a run over its memory or process limit is ended at once
    /// (the kernel may have ended only one of its processes, or refused a fork the script survives).
    private func watchLimits(of cgroup: RunCgroup, group pid: pid_t) async -> Watch {
        for await _ in AsyncTimerSequence(interval: .milliseconds(50), clock: .continuous) {
            if let hit = cgroup.limitHit {
                // Everything in the group, the sandbox's own processes included.
                kill(-pid, SIGKILL)
                return .limitHit(hit)
            }
        }
        return .limitsWatched
    }

    /// `terminate`: SIGTERM to the script's processes. `kill`: SIGKILL to the whole group.
    private func deliver(_ request: StopRequest, toGroup pid: pid_t) {
        guard request == .terminate else {
            kill(-pid, SIGKILL)
            return
        }
        guard leaderIsSandbox else {
            kill(-pid, SIGTERM)
            return
        }
        // bubblewrap's processes carry its name until the script is executed. Its init in the
        // run's PID namespace ignores SIGTERM from outside (the kernel drops signals it has no
        // handler for), so a TERM that only reached bubblewrap would be lost and the run would
        // go on until the grace period's KILL.
        let members = Self.processes(inGroup: pid)
        let sandboxName = members.first { $0.pid == pid }?.name
        let script = members.filter { $0.pid != pid && $0.name != sandboxName }
        if script.isEmpty {
            // The script has not started yet: there is nothing to clean up.
            kill(-pid, SIGKILL)
        } else {
            for member in script { kill(member.pid, SIGTERM) }
        }
    }

    /// Every process whose process group is `group`, with its name (at most 15 bytes), from /proc.
    static func processes(inGroup group: pid_t) -> [(pid: pid_t, name: Substring)] {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
        return entries.compactMap { entry -> (pid_t, Substring)? in
            // Decoded leniently: a process name cut at 15 bytes may end inside a UTF-8 character.
            guard let pid = pid_t(entry), let data = FileManager.default.contents(atPath: "/proc/\(entry)/stat"),
                case let stat = String(decoding: data, as: UTF8.self),
                let beforeName = stat.firstIndex(of: "("), let afterName = stat.lastIndex(of: ")")
            else { return nil }
            // "pid (name) state ppid pgrp …": the name may hold spaces and parentheses.
            let fields = stat[stat.index(after: afterName)...].split(separator: " ")
            guard fields.count > 2, pid_t(fields[2]) == group else { return nil }
            return (pid, stat[stat.index(after: beforeName)..<afterName])
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

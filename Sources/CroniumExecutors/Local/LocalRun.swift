import CroniumCore
import Foundation
import NIOPosix
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A local run that is ready to spawn: its descriptors (script memfds, cgroup joins, the
/// sandbox's gate) are open until the spawn hands them over, or until ``teardown()`` when the run
/// never started.
final class LocalRun: PreparedRun {
    let spec: SpawnSpec
    let exits: ExitWatcher
    let sandboxed: Bool
    let cgroup: RunCgroup?
    let gate: Sandbox.Gate?
    /// An unsandboxed run's work directory and its script's name there.
    let hostDirectory: (path: String, scriptName: String)?
    /// Where the run's process group is noted while it runs, when nothing else ends it after a crash.
    let groupRecord: (records: ProcessGroupRecords, run: ExecutionID)?
    /// Gives the run's own uid back, once nothing of the run is left to hold it.
    let releaseUser: @Sendable () -> Void
    /// Set once ``run(output:stops:)`` has taken the descriptors over.
    private let started = Mutex(false)

    init(
        spec: SpawnSpec,
        exits: ExitWatcher,
        sandboxed: Bool,
        cgroup: RunCgroup?,
        gate: Sandbox.Gate?,
        hostDirectory: (path: String, scriptName: String)?,
        groupRecord: (records: ProcessGroupRecords, run: ExecutionID)?,
        releaseUser: @escaping @Sendable () -> Void
    ) {
        self.releaseUser = releaseUser
        self.spec = spec
        self.exits = exits
        self.sandboxed = sandboxed
        self.cgroup = cgroup
        self.gate = gate
        self.hostDirectory = hostDirectory
        self.groupRecord = groupRecord
    }

    func run(output: RunOutput, stops: StopRequests) async -> ExecutionOutcome {
        started.withLock { $0 = true }
        let (handedOver, gate, cgroup, groupRecord) = (spec.extraDescriptors, self.gate, self.cgroup, self.groupRecord)
        let run = ProcessRun(
            spec: spec,
            exits: exits,
            leaderIsSandbox: sandboxed,
            cgroup: cgroup,
            afterSpawn: { child in
                for fd in handedOver { close(fd) }
                if let child, let groupRecord { groupRecord.records.record(group: child.pid, run: groupRecord.run) }
                defer { cgroup?.closeJoinDescriptors() }
                guard let gate else { return }
                guard let child, let cgroup else { return gate.discard() }
                do {
                    try gate.admit(monitor: child.pid, into: cgroup)
                } catch {
                    // The sandbox goes first: closing the gate would let the script start.
                    kill(-child.pid, SIGKILL)
                    close(gate.release)
                    throw error
                }
            }
        )
        return await run.run(output: output, stops: stops)
    }

    func teardown() async {
        if !started.withLock({ $0 }) {
            for fd in spec.extraDescriptors { close(fd) }
            gate?.discard()
            cgroup?.closeJoinDescriptors()
        }
        cgroup?.release()
        if let groupRecord { groupRecord.records.forget(run: groupRecord.run) }
        guard let hostDirectory else { return releaseUser() }
        // Off the run's path: removing the directory costs about 0.15 ms on ext4 here, and the
        // run's end need not wait for it (a crash leaves it to the next start's leftovers). The
        // run's own uid is given back only once its files are gone.
        let releaseUser = self.releaseUser
        NIOThreadPool.singleton.submit { _ in
            LocalProcessExecutor.removeWorkDirectory(hostDirectory.path, scriptName: hostDirectory.scriptName)
            releaseUser()
        }
    }
}

import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Keeps the kernel's lock for moving processes between cgroups quick while runs start.
///
/// Every run joins its cgroup by moving its first process there, under a lock (the cgroup
/// threadgroup lock) that the kernel readies for a writer by waiting out an RCU grace period
/// whenever no writer has taken it for a few milliseconds: 8 to 14 ms on this project's machines,
/// on the path of every run that starts after a pause (the next node after a long one, a cron
/// job). While runs come and go, a thread of its own takes the lock every few milliseconds by
/// moving the server into the group it already is in, which moves nothing; it sleeps once no run
/// has held it for a moment. A kernel mounted with `favordynmods` keeps the lock ready by itself.
final class CgroupMoveWarmth: Sendable {
    /// One per process: the lock is the kernel's, one for every hierarchy.
    static let shared: CgroupMoveWarmth? = CgroupMoveWarmth(procsFile: ownProcsFile())

    /// How often the lock is taken while runs are going: under the few milliseconds it stays ready.
    static let interval: Duration = .milliseconds(4)
    /// How long it is kept ready after the last run let go: the next node of a workflow comes
    /// a moment after its predecessor ended.
    static let linger: Duration = .milliseconds(50)

    private let descriptor: Int32
    private let state = Mutex<(holders: Int, lastRelease: ContinuousClock.Instant?, moves: Int)>((0, nil, 0))
    private let wake = DispatchSemaphore(value: 0)

    /// Nil when the server may not write its own group's `cgroup.procs` (nothing to warm then).
    init?(procsFile: String?) {
        guard let procsFile else { return nil }
        let fd = open(procsFile, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        descriptor = fd
        let thread = Thread { [self] in loop() }
        thread.name = "cgroup-warmth"
        thread.start()
    }

    /// A run is about to join its group: keep the lock ready until ``release()``.
    func hold() {
        let first = state.withLock { state in
            state.holders += 1
            return state.holders == 1
        }
        if first { wake.signal() }
    }

    func release() {
        state.withLock { state in
            state.holders -= 1
            if state.holders == 0 { state.lastRelease = .now }
        }
    }

    /// How many times the server was moved into its own group (for tests).
    var moves: Int { state.withLock { $0.moves } }

    private func loop() {
        while true {
            let active = state.withLock { state in
                state.holders > 0 || state.lastRelease.map { ContinuousClock.now - $0 < Self.linger } == true
            }
            guard active else {
                wake.wait()
                continue
            }
            // "0" is the writing process: the server, into the group it is in.
            if write(descriptor, "0", 1) == 1 { state.withLock { $0.moves += 1 } }
            usleep(UInt32(Self.interval / .microseconds(1)))
        }
    }

    /// `cgroup.procs` of the server's own group: in the unified hierarchy, else in v1's `pids`.
    static func ownProcsFile() -> String? {
        var v1Pids: String?
        for line in Cgroups.read("/proc/self/cgroup").split(separator: "\n") {
            let fields = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard fields.count == 3 else { continue }
            let path = fields[2] == "/" ? "" : String(fields[2])
            if fields[0] == "0", access("/sys/fs/cgroup\(path)/cgroup.procs", W_OK) == 0,
                FileManager.default.fileExists(atPath: "/sys/fs/cgroup/cgroup.controllers")
            {
                return "/sys/fs/cgroup\(path)/cgroup.procs"
            }
            if fields[1].split(separator: ",").contains("pids") { v1Pids = "/sys/fs/cgroup/pids\(path)/cgroup.procs" }
        }
        return v1Pids.flatMap { access($0, W_OK) == 0 ? $0 : nil }
    }
}

import CroniumCore
import Foundation
import Glibc
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Per-run control groups for memory and process limits: cgroup v2 where the server may create
/// groups below its own, else the v1 `memory` and `pids` hierarchies. A run gets a group named
/// `<instance>-run-<n>` with its limits, and gives it back emptied when it ends: the next run takes
/// it with its own limits (see ``CgroupPool``). `instance` is named after the server's data
/// directory, so that servers on one machine (or tests in one process) never share groups, and
/// flat names leave nothing behind once a server's runs are gone.
public struct Cgroups: Sendable {
    public enum Version: String, Sendable { case v1, v2 }

    public let version: Version
    let instance: String
    /// v2: the one directory under which runs' groups are made. v1: memory's and pids' directories.
    let memoryBase: String
    let pidsBase: String
    let pool: CgroupPool

    init(version: Version, instance: String, memoryBase: String, pidsBase: String) {
        self.version = version
        self.instance = instance
        self.memoryBase = memoryBase
        self.pidsBase = pidsBase
        pool = CgroupPool(bases: Set([memoryBase, pidsBase]))
    }

    /// The hierarchy this server may use, or nil with the reason it may not.
    public static func detect(instance: String) -> Result<Cgroups, DetectError> {
        let membership = read("/proc/self/cgroup")
        var v1: [String: String] = [:]
        var v2: String?
        for line in membership.split(separator: "\n") {
            let fields = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard fields.count == 3 else { continue }
            if fields[0] == "0" { v2 = String(fields[2]) }
            for controller in fields[1].split(separator: ",") { v1[String(controller)] = String(fields[2]) }
        }
        if let path = v2, let runs = prepareV2(own: "/sys/fs/cgroup\(path == "/" ? "" : path)") {
            return .success(Cgroups(version: .v2, instance: instance, memoryBase: runs, pidsBase: runs))
        }
        if let memory = v1["memory"], let pids = v1["pids"] {
            let memoryBase = "/sys/fs/cgroup/memory\(memory == "/" ? "" : memory)/cronium"
            let pidsBase = "/sys/fs/cgroup/pids\(pids == "/" ? "" : pids)/cronium"
            // Made by a root server before, the directories may exist and still not be ours.
            if makeDirectory(memoryBase) && makeDirectory(pidsBase) && access(memoryBase, W_OK) == 0 && access(pidsBase, W_OK) == 0 {
                return .success(Cgroups(version: .v1, instance: instance, memoryBase: memoryBase, pidsBase: pidsBase))
            }
            return .failure(DetectError(reason: "cannot create groups in the cgroup v1 memory and pids hierarchies (the server is not root)"))
        }
        return .failure(DetectError(reason: "no cgroup with memory and pids controllers delegated to this server"))
    }

    public struct DetectError: Error, Sendable {
        public let reason: String
    }

    /// v2 forbids processes in a group whose controllers are handed to children, so the server
    /// moves itself into a leaf `server` group before enabling memory and pids for `runs`.
    private static func prepareV2(own: String) -> String? {
        let controllers = read("\(own)/cgroup.controllers")
        guard controllers.split(separator: " ").contains("memory"), controllers.contains("pids") else { return nil }
        let enabled = read("\(own)/cgroup.subtree_control")
        if !(enabled.contains("memory") && enabled.contains("pids")) {
            let leaf = "\(own)/server"
            guard makeDirectory(leaf), write("0", to: "\(leaf)/cgroup.procs"),
                write("+memory +pids", to: "\(own)/cgroup.subtree_control")
            else { return nil }
        }
        let runs = "\(own)/runs"
        guard makeDirectory(runs), write("+memory +pids", to: "\(runs)/cgroup.subtree_control") else { return nil }
        return runs
    }

    /// A group for one run, with its limits, open for the child to join: an idle one when there
    /// is one, else a new one.
    func acquire(memoryBytes: UInt64, processes: Int) throws -> RunCgroup {
        // Given back by ``RunCgroup/release()``, or below when no group could be had.
        CgroupMoveWarmth.shared?.hold()
        do {
            return try group(limits: CgroupLimits(memoryBytes: memoryBytes, processes: processes))
        } catch {
            CgroupMoveWarmth.shared?.release()
            throw error
        }
    }

    private func group(limits: CgroupLimits) throws -> RunCgroup {
        if let idle = pool.takeIdle() {
            if let group = try? configure(idle.name, limits: limits, previous: idle.limits) { return group }
            // v1 refuses a memory limit below what the last run left charged (its page cache).
            for directory in directories(idle.name) { Self.remove(directory) }
        }
        let name = "\(instance)-run-\(pool.newNumber())"
        for directory in directories(name) {
            // A leftover of a crashed server with the same name is emptied first.
            if mkdir(directory, 0o755) != 0 && errno == EEXIST { Self.remove(directory) }
            guard Self.makeDirectory(directory) else { throw IsolationError(cannot: "create \(directory)") }
        }
        do {
            return try configure(name, limits: limits, previous: nil)
        } catch {
            for directory in directories(name) { Self.remove(directory) }
            throw error
        }
    }

    /// The group's directory in each hierarchy it lives in.
    private func directories(_ name: String) -> [String] {
        version == .v2 ? ["\(memoryBase)/\(name)"] : ["\(memoryBase)/\(name)", "\(pidsBase)/\(name)"]
    }

    /// Writes the group's limits, unless it holds them already from its last run (most runs ask
    /// for the same): each write to a cgroup file costs about 20 µs here, on every run's path.
    /// `previous`: the limits a kept group was left with; nil for a new group.
    private func configure(_ name: String, limits: CgroupLimits, previous: CgroupLimits?) throws -> RunCgroup {
        let memory = "\(memoryBase)/\(name)"
        let pids = "\(pidsBase)/\(name)"
        let (memoryBytes, processes) = (limits.memoryBytes, limits.processes)
        if previous?.memoryBytes != memoryBytes {
            switch version {
            case .v2:
                try Self.set("\(memory)/memory.max", "\(memoryBytes)")
                if previous == nil {
                    // Swap would let a run exceed its limit slowly instead of ending.
                    _ = Self.write("0", to: "\(memory)/memory.swap.max")
                    // The whole run ends together, as one would expect of "the run ran out of memory".
                    _ = Self.write("1", to: "\(memory)/memory.oom.group")
                }
            case .v1:
                // memory+swap may never be below memory alone: raised first when the limit grows,
                // lowered after it when it shrinks.
                _ = Self.write("\(memoryBytes)", to: "\(memory)/memory.memsw.limit_in_bytes")
                try Self.set("\(memory)/memory.limit_in_bytes", "\(memoryBytes)")
                _ = Self.write("\(memoryBytes)", to: "\(memory)/memory.memsw.limit_in_bytes")
            }
        }
        if previous?.processes != processes { try Self.set("\(pids)/pids.max", "\(processes)") }
        let joins = Array(Set([memory, pids])).map { open("\($0)/cgroup.procs", O_WRONLY | O_CLOEXEC) }
        guard !joins.contains(-1) else {
            for fd in joins where fd >= 0 { close(fd) }
            throw IsolationError(cannot: "open the run's cgroup.procs")
        }
        var group = RunCgroup(version: version, name: name, memory: memory, pids: pids, joinDescriptors: joins, limits: limits, pool: pool)
        // The counters are the group's whole life's: a run sees what happened since it started.
        group.countersBefore = (group.oomKillCount, group.refusedForkCount)
        return group
    }

    /// Empties and removes every run group left by a server that crashed.
    public func removeLeftovers() {
        for base in Set([memoryBase, pidsBase]) {
            for entry in (try? FileManager.default.contentsOfDirectory(atPath: base)) ?? [] where entry.hasPrefix("\(instance)-run-") {
                Self.remove("\(base)/\(entry)")
            }
        }
    }

    /// Kills what is left in `directory` and removes it; a group must be empty to go.
    static func remove(_ directory: String) {
        for _ in 0..<200 {
            if rmdir(directory) == 0 || errno == ENOENT { return }
            for pid in members(directory) { kill(pid, SIGKILL) }
            usleep(5_000)
        }
    }

    /// Kills what is left in `directory` until nothing is; false if something stayed for a second.
    static func empty(_ directory: String) -> Bool {
        for _ in 0..<200 {
            let pids = members(directory)
            if pids.isEmpty { return true }
            for pid in pids { kill(pid, SIGKILL) }
            usleep(5_000)
        }
        return false
    }

    /// The processes in a group (none when it cannot be read: it is gone).
    static func members(_ directory: String) -> [pid_t] {
        read("\(directory)/cgroup.procs").split(separator: "\n").compactMap { pid_t($0) }
    }

    /// A cgroup file's text (empty when it cannot be read), by plain system calls: groups are
    /// read at every run's end.
    static func read(_ path: String) -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return "" }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while case let count = Glibc.read(fd, &buffer, buffer.count), count > 0 { bytes += buffer[0..<count] }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func makeDirectory(_ path: String) -> Bool { mkdir(path, 0o755) == 0 || errno == EEXIST }

    @discardableResult
    static func write(_ value: String, to path: String) -> Bool {
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        return value.withCString { Glibc.write(fd, $0, strlen($0)) } >= 0
    }

    static func set(_ path: String, _ value: String) throws {
        guard write(value, to: path) else { throw IsolationError(cannot: "write \(value) to \(path)") }
    }
}

/// A step of building a run's boundary failed; the run fails with this text.
struct IsolationError: Error, CustomStringConvertible {
    /// The system's error number (`EACCES`, `ENOSPC`…), or 0 when the step failed without one.
    let errno: Int32
    let description: String

    /// "cannot <what>: <the system's reason>", with the error number of the call that just failed.
    init(cannot what: String, errno: Int32 = Glibc.errno) {
        self.errno = errno
        description = errno == 0 ? "cannot \(what)" : "cannot \(what): \(String(cString: strerror(errno)))"
    }

    /// A step that failed without a system error.
    init(_ description: String) {
        errno = 0
        self.description = description
    }
}

/// One run's group: joined by the child before exec, read for limit events, given back at the end.
struct RunCgroup: Sendable {
    let version: Cgroups.Version
    let name: String
    let memory: String
    let pids: String
    /// `cgroup.procs` of each directory (one for v2, two for v1); the executor closes them once,
    /// right after the spawn.
    let joinDescriptors: [Int32]
    /// What it was configured with, kept with it when it goes back to the pool.
    let limits: CgroupLimits
    let pool: CgroupPool
    /// The kernel's counters when the run took the group (it may have served runs before).
    fileprivate(set) var countersBefore = (oomKills: 0, refusedForks: 0)

    func closeJoinDescriptors() { for fd in joinDescriptors { close(fd) } }

    /// Moves running processes into the group (in every hierarchy it lives in).
    func admit(_ pids: [pid_t]) throws {
        for descriptor in joinDescriptors {
            for pid in pids {
                let written = "\(pid)".withCString { write(descriptor, $0, strlen($0)) }
                guard written > 0 else {
                    throw IsolationError(cannot: "move process \(pid) into the run's cgroup")
                }
            }
        }
    }

    /// Processes the kernel ended in the group's life because it hit its memory limit.
    fileprivate var oomKillCount: Int {
        let file = version == .v2 ? "\(memory)/memory.events" : "\(memory)/memory.oom_control"
        return Self.counter("oom_kill", in: file)
    }

    /// Forks refused in the group's life because it hit its process limit.
    fileprivate var refusedForkCount: Int { Self.counter("max", in: "\(pids)/pids.events") }

    /// The limit this run has hit, if any.
    var limitHit: ExecutionErrorCode? {
        oomKillCount > countersBefore.oomKills ? .outOfMemory : refusedForkCount > countersBefore.refusedForks ? .tooManyProcesses : nil
    }

    /// Kills every process left and gives the group back, or removes it when something stayed.
    func release() {
        CgroupMoveWarmth.shared?.release()
        let directories = Set([memory, pids])
        if directories.allSatisfy(Cgroups.empty), pool.keep(name, limits: limits) { return }
        for directory in directories { Cgroups.remove(directory) }
    }

    /// The number after `key` in a flat-keyed cgroup file ("key value" lines).
    private static func counter(_ key: String, in path: String) -> Int {
        for line in Cgroups.read(path).split(separator: "\n") {
            let fields = line.split(separator: " ")
            if fields.count == 2, fields[0] == key { return Int(fields[1]) ?? 0 }
        }
        return 0
    }
}

/// A run group's memory and process limits.
struct CgroupLimits: Equatable, Sendable {
    var memoryBytes: UInt64
    var processes: Int
}

/// Emptied groups of ended runs, kept for the next ones. Making a memory cgroup and removing it
/// costs the kernel more than a run's own fork and exec (measured here, cgroup v1: 1.6 ms for a
/// `true` in a new group against 1.0 ms in a reused one), so a group outlives its run; the idle
/// ones go when the server stops, or at the next start after a crash.
final class CgroupPool: Sendable {
    /// More idle groups than this means a burst has passed; the rest are removed.
    static let idleLimit = 64
    private let bases: Set<String>
    private let state = Mutex<(idle: [(name: String, limits: CgroupLimits)], made: Int, closed: Bool)>(([], 0, false))

    init(bases: Set<String>) { self.bases = bases }

    /// An idle group and the limits its last run left in it.
    func takeIdle() -> (name: String, limits: CgroupLimits)? { state.withLock { $0.idle.popLast() } }

    func newNumber() -> Int {
        state.withLock { state in
            state.made += 1
            return state.made
        }
    }

    /// Takes an empty group back; false when enough are idle already or the pool is closed.
    func keep(_ name: String, limits: CgroupLimits) -> Bool {
        state.withLock { state in
            guard !state.closed, state.idle.count < Self.idleLimit else { return false }
            state.idle.append((name, limits))
            return true
        }
    }

    /// Removes the idle groups and keeps no more: the server is stopping.
    func close() {
        let idle = state.withLock { state in
            state.closed = true
            defer { state.idle = [] }
            return state.idle
        }
        for (name, _) in idle {
            for base in bases { Cgroups.remove("\(base)/\(name)") }
        }
    }

    /// An executor dropped without ``close()`` (tests) leaves nothing behind either.
    deinit { close() }
}

import CCroniumSystem
import CroniumCore
import CroniumHelpers
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Runs Bash, Python and Node.js scripts as child processes in their own session and process
/// group, inside the boundary that ``Isolation`` describes: sandboxed by bubblewrap when it works
/// here, as the run user, in a per-run cgroup, with resource limits. On exit, timeout or cancel
/// the whole run is killed, so nothing a script started outlives it.
public struct LocalProcessExecutor: Executor {
    public struct Configuration: Sendable {
        public var interpreters: Interpreters
        public var isolation: Isolation
        /// Unsandboxed runs get `<workRoot>/<execution id>` as their working directory, removed afterwards.
        public var workRoot: String

        public init(interpreters: Interpreters, isolation: Isolation, workRoot: String) {
            self.interpreters = interpreters
            self.isolation = isolation
            self.workRoot = workRoot
        }
    }

    public let configuration: Configuration
    /// Where unsandboxed runs get their directories: `workRoot`, unless the run user cannot reach
    /// it (a data directory under /root), then a directory of this server's in /var/tmp.
    let plainWorkRoot: String

    /// The helper libraries of unsandboxed runs, written once under the work root.
    let sharedHelpers = HelperDirectory()
    /// Tells this executor's runs when their process exited; its thread ends at ``shutDown()``.
    let exits = ExitWatcher()

    public init(configuration: Configuration) {
        self.configuration = configuration
        if let user = configuration.isolation.unsandboxedUser, !Self.canTraverse(configuration.workRoot, as: user) {
            plainWorkRoot = "/var/tmp/cronium-\(configuration.isolation.instance)"
        } else {
            plainWorkRoot = configuration.workRoot
        }
    }

    /// Removes the directories of runs a crash interrupted: they hold their scripts. (Their cgroups
    /// went when ``Isolation`` was detected.)
    public func removeLeftovers() async {
        groupRecords.endSurvivors()
        for root in Set([configuration.workRoot, plainWorkRoot]) { try? FileManager.default.removeItem(atPath: root) }
        sharedHelpers.forget()
    }

    /// The idle cgroups go, and the exit watcher's thread ends; runs after this (there should be
    /// none) remove their own groups and look for their exit themselves.
    public func shutDown() async {
        configuration.isolation.cgroups?.pool.close()
        exits.stop()
    }

    /// Process groups of unsandboxed runs that have no cgroup, kept beside the data directory's
    /// work root (only the server may read them).
    var groupRecords: ProcessGroupRecords { ProcessGroupRecords(directory: configuration.workRoot + ".groups") }

    public func prepare(_ context: ExecutionContext, output: RunOutput) async throws(ExecutionError) -> any PreparedRun {
        let event = context.event
        guard let interpreter = configuration.interpreters.path(for: event.type) else {
            throw ExecutionError(.startFailed, "no interpreter for \(event.type.rawValue) on this server; install it or set its path")
        }
        let isolation = configuration.isolation
        for path in event.readOnlyPaths ?? [] {
            if let problem = Isolation.problem(readOnlyPath: path, forbidden: isolation.forbiddenPaths) {
                throw ExecutionError(.startFailed, "readOnlyPaths: \(problem)")
            }
        }
        let limits = isolation.limits(for: event)
        if let asked = event.limits, asked.filled(from: limits) != limits {
            await output(.system, "limits above this server's maxima were lowered to them: \(Self.describe(limits))")
        }
        let memoryBytes = UInt64(limits.memoryMB ?? 0) << 20
        let scriptName = Self.scriptName(for: event.type)
        var environment = context.environment
        environment["PATH"] = environment["PATH"] ?? Self.defaultPath
        environment["LANG"] = environment["LANG"] ?? Self.defaultLanguage
        // Unsandboxed runs of a root server each get a uid of their own (see ``RunUIDs``).
        let ownUser = isolation.sandbox == nil ? isolation.runUIDs?.acquire(for: context.executionId) : nil
        if isolation.sandbox == nil, isolation.runUIDs != nil, ownUser == nil {
            throw ExecutionError(.startFailed, "every uid of --run-uids is taken by a running run; give the server a larger range")
        }
        let runUser = ownUser ?? isolation.switchedUser
        // The range alone, not `isolation`: the work directory's removal calls this after the run,
        // and must not keep the executor's cgroup pool alive past the executor.
        let runUIDs = isolation.runUIDs
        let releaseUser: @Sendable () -> Void = { if let ownUser { runUIDs?.release(ownUser) } }
        environment["USER"] = runUser?.name ?? isolation.user.name
        environment["LOGNAME"] = environment["USER"]
        if let runtime = context.runtime, let runUser {
            // The run's listener made its socket the server's alone; the run's user may use it.
            guard chown(runtime.socketPath, runUser.uid, runUser.gid) == 0 else {
                releaseUser()
                throw ExecutionError(.startFailed, "cannot give the runtime socket to \(runUser): \(String(cString: strerror(errno)))")
            }
        }

        var spec = SpawnSpec(argv: [], environment: environment, user: runUser)
        spec.limits = [(cronium_rlimit_nofile, UInt64(limits.openFiles ?? 1024)), (cronium_rlimit_core, 0)]
        if isolation.cgroups == nil {
            // No cgroup: per-process limits are the best the kernel offers.
            spec.limits += [(cronium_rlimit_data, memoryBytes), (cronium_rlimit_nproc, UInt64(limits.processes ?? 256))]
        }
        if let problem = (event.readOnlyPaths ?? []).lazy.compactMap(Isolation.missing(readOnlyPath:)).first {
            releaseUser()
            throw ExecutionError(.startFailed, "readOnlyPaths: \(problem)")
        }
        let cgroup: RunCgroup?
        do {
            cgroup = try isolation.cgroups?.acquire(memoryBytes: memoryBytes, processes: limits.processes ?? 256)
        } catch {
            releaseUser()
            throw ExecutionError(.startFailed, "could not set up the run's limits: \(error)")
        }
        var hostDirectory: (path: String, scriptName: String)?
        var gate: Sandbox.Gate?
        if let sandbox = isolation.sandbox {
            let diskBytes = UInt64(limits.diskMB ?? 256) << 20
            spec.environment["HOME"] = Sandbox.workDirectory
            spec.environment["TMPDIR"] = "/tmp"
            var runFiles = [(name: scriptName, contents: Array(event.content.utf8))]
            if let runtime = context.runtime {
                runFiles += HelperFiles.all.map { ("helpers/\($0.path)", $0.contents) }
                spec.environment = runtime.environment(
                    socketPath: Sandbox.runtimeSocket,
                    helpersDirectory: "\(Sandbox.runDirectory)/helpers",
                    adding: spec.environment
                )
            }
            var invocation = Sandbox.Invocation(
                runFiles: runFiles,
                network: event.networkAccess,
                diskBytes: diskBytes,
                extraReadOnlyPaths: event.readOnlyPaths ?? [],
                command: [interpreter] + Self.interpreterFlags(for: event.type) + ["\(Sandbox.runDirectory)/\(scriptName)"]
            )
            if let runtime = context.runtime { invocation.binds = [(runtime.socketPath, Sandbox.runtimeSocket)] }
            // The sandbox joins its cgroup while bubblewrap builds it (see ``Sandbox/Gate``).
            invocation.gated = cgroup != nil
            do {
                let prepared = try sandbox.prepare(invocation)
                spec.argv = prepared.arguments
                spec.extraDescriptors = prepared.descriptors
                gate = prepared.gate
            } catch {
                cgroup?.closeJoinDescriptors()
                cgroup?.release()
                releaseUser()
                throw ExecutionError(.startFailed, "could not prepare the sandbox: \(error)")
            }
        } else {
            // A name no other run can guess: runs that share the run user must not find each other's.
            let directory = "\(plainWorkRoot)/\(context.executionId)-\(UInt64.random(in: 0...UInt64.max))"
            do {
                try Self.prepare(root: plainWorkRoot, directory: directory, script: (scriptName, event.content), owner: runUser)
            } catch {
                cgroup?.closeJoinDescriptors()
                cgroup?.release()
                releaseUser()
                Self.removeWorkDirectory(directory, scriptName: scriptName)
                throw ExecutionError(.startFailed, "could not prepare the work directory: \(error)")
            }
            hostDirectory = (directory, scriptName)
            spec.workDirectory = directory
            spec.environment["HOME"] = directory
            spec.environment["TMPDIR"] = directory
            spec.argv = [interpreter] + Self.interpreterFlags(for: event.type) + ["\(directory)/\(scriptName)"]
            if let runtime = context.runtime {
                do {
                    let helpers = try sharedHelpers.directory(under: plainWorkRoot)
                    spec.environment = runtime.environment(socketPath: runtime.socketPath, helpersDirectory: helpers, adding: spec.environment)
                } catch {
                    cgroup?.closeJoinDescriptors()
                    cgroup?.release()
                    releaseUser()
                    Self.removeWorkDirectory(directory, scriptName: scriptName)
                    throw ExecutionError(.startFailed, "could not write the runtime helpers: \(error)")
                }
            }
            spec.seccompFilter = Sandbox.seccompProgram
            spec.limits.append((cronium_rlimit_fsize, UInt64(limits.diskMB ?? 256) << 20))
            // Without bubblewrap the child joins its cgroup itself, before exec.
            spec.cgroupProcs = cgroup?.joinDescriptors ?? []
        }
        // Sandboxed runs die with the server, and a cgroup is emptied at the next start; other
        // runs leave a record of their process group for that start.
        let records = isolation.sandbox == nil && cgroup == nil ? groupRecords : nil
        return LocalRun(
            spec: spec,
            exits: exits,
            sandboxed: isolation.sandbox != nil,
            cgroup: cgroup,
            gate: gate,
            hostDirectory: hostDirectory,
            groupRecord: records.map { ($0, context.executionId) },
            releaseUser: releaseUser
        )
    }

    /// An unsandboxed run's work directory with its script, owned by the run user, in a root that
    /// others may pass through but not list. Plain system calls: this is on every run's path, and
    /// FileManager's stats, attribute sets and directory walks cost more than the run's own start.
    private static func prepare(root: String, directory: String, script: (name: String, content: String), owner: RunUser?) throws {
        if mkdir(directory, 0o700) != 0 {
            // The root goes at every start-up (leftovers), so it is made when the first run needs it.
            guard errno == ENOENT else { throw IsolationError(cannot: "create \(directory)") }
            try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o711])
            guard mkdir(directory, 0o700) == 0 else { throw IsolationError(cannot: "create \(directory)") }
        }
        let path = "\(directory)/\(script.name)"
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw IsolationError(cannot: "create \(path)") }
        defer { close(fd) }
        let bytes = Array(script.content.utf8)
        var written = 0
        while written < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + written, $0.count - written) }
            guard n > 0 else { throw IsolationError(cannot: "write \(path)") }
            written += n
        }
        if let owner {
            guard chown(directory, owner.uid, owner.gid) == 0, fchown(fd, owner.uid, owner.gid) == 0 else {
                throw IsolationError(cannot: "give \(directory) to \(owner)")
            }
        }
    }

    /// Removes a run's work directory: the script and the directory when the run left nothing
    /// else, else the whole tree.
    static func removeWorkDirectory(_ directory: String, scriptName: String) {
        unlink("\(directory)/\(scriptName)")
        if rmdir(directory) != 0 && errno != ENOENT { try? FileManager.default.removeItem(atPath: directory) }
    }

    /// Whether `user` may pass through every directory on the way to `path` (its nearest existing
    /// ancestor, then the rest is created by the server with o+x).
    static func canTraverse(_ path: String, as user: RunUser) -> Bool {
        var current = URL(fileURLWithPath: path).standardizedFileURL
        var chain: [String] = []
        while current.path != "/" {
            chain.append(current.path)
            current.deleteLastPathComponent()
        }
        for directory in chain {
            var info = stat()
            guard stat(directory, &info) == 0 else { continue }
            let mode = info.st_mode
            let allowed =
                info.st_uid == user.uid ? mode & S_IXUSR != 0 : info.st_gid == user.gid ? mode & S_IXGRP != 0 : mode & S_IXOTH != 0
            if !allowed { return false }
        }
        return true
    }

    static func describe(_ limits: RunLimits) -> String {
        "memory \(limits.memoryMB ?? 0) MiB, \(limits.processes ?? 0) processes, \(limits.openFiles ?? 0) open files, disk \(limits.diskMB ?? 0) MiB"
    }

    /// A run's `PATH` and `LANG` when its event sets none (the benchmark's raw spawns get them too).
    public static let defaultPath = "/usr/local/bin:/usr/bin:/bin"
    public static let defaultLanguage = "C.UTF-8"

    static func scriptName(for type: EventType) -> String {
        switch type {
        case .bash, .httpRequest, .toolAction: "script.sh"
        case .python: "script.py"
        case .nodejs: "script.js"
        }
    }

    /// Python buffers stdout when it is not a terminal; `-u` makes lines reach the log as they are printed.
    static func interpreterFlags(for type: EventType) -> [String] {
        type == .python ? ["-u"] : []
    }
}

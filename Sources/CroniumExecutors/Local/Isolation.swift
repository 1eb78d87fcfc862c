import CroniumCore
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Everything that bounds a local run, decided once at start-up from what this machine allows:
/// the sandbox, the user runs switch to, per-run cgroups, and the limits' defaults and maxima.
public struct Isolation: Sendable {
    public var sandbox: Sandbox?
    /// Who runs run as: `nobody` (or `--run-user`) under a root server, else the server's own user.
    public var user: RunUser
    /// Whether runs switch to `user` (the server is root) or already are it.
    public var switchesUser: Bool
    /// `user` when a spawn must switch to it.
    public var switchedUser: RunUser? { switchesUser ? user : nil }
    /// Where unsandboxed runs of a root server get a uid of their own (nil otherwise: sandboxed
    /// runs are apart in their own PID namespaces, and a server that is not root cannot switch).
    public var runUIDs: RunUIDs?

    /// Whom an unsandboxed run switches to, as far as file permissions go: its own uid's kind
    /// (others to every file of the server's), else the run user; nil when runs do not switch.
    var unsandboxedUser: RunUser? {
        if let runUIDs { return RunUser(name: RunUIDs.userName, uid: runUIDs.range.lowerBound, gid: runUIDs.range.lowerBound) }
        return switchedUser
    }
    public var cgroups: Cgroups?
    /// Limits of a run whose event sets none (every field filled).
    public var defaultLimits: RunLimits
    /// The largest limits an event may ask for (every field filled).
    public var maximumLimits: RunLimits
    /// Paths no run may be shown, whatever an event asks: the data directory.
    public var forbiddenPaths: [String]
    /// Names what belongs to this server outside its data directory (cgroups, a work root).
    public var instance: String

    public init(
        sandbox: Sandbox?,
        user: RunUser,
        switchesUser: Bool,
        cgroups: Cgroups?,
        defaultLimits: RunLimits,
        maximumLimits: RunLimits,
        forbiddenPaths: [String],
        instance: String
    ) {
        self.sandbox = sandbox
        self.user = user
        self.switchesUser = switchesUser
        self.cgroups = cgroups
        self.defaultLimits = defaultLimits
        self.maximumLimits = maximumLimits
        self.forbiddenPaths = forbiddenPaths
        self.instance = instance
    }

    /// One protection and whether it is in force, for the start-up report and `/ready`.
    public struct Protection: Sendable, Equatable, Codable {
        public var name: String
        public var active: Bool
        public var detail: String
    }

    public typealias Mode = SandboxMode

    public struct Options: Sendable {
        public var mode: Mode = .auto
        /// `--run-user`: a name or uid[:gid]; nobody when nil.
        public var runUser: String?
        /// `--run-uids`: the ids unsandboxed runs of a root server take, one each.
        public var runUIDs: ClosedRange<uid_t> = RunUIDs.defaultRange
        public var readOnlyPaths: [String] = []
        /// `--bwrap`: bubblewrap's path, when not the one found in /usr/bin, /usr/local/bin or /bin.
        public var bwrapPath: String?
        /// Fields left nil take the built-in defaults, lowered to the maxima where those are lower.
        public var defaultLimits = RunLimits()
        /// Fields left nil take the built-in maxima.
        public var maximumLimits = RunLimits()
        /// Names this server's cgroups, so servers (and tests) on one machine never share them.
        public var instance: String
        public var forbiddenPaths: [String]

        public init(instance: String, forbiddenPaths: [String]) {
            self.instance = instance
            self.forbiddenPaths = forbiddenPaths
        }
    }

    public struct SetupError: Error, CustomStringConvertible {
        public let description: String
    }

    /// Throws for a bad option, as ``detect(_:)`` would, without building anything: cheap enough
    /// to run before the slower detection is started beside other work.
    public static func validate(_ options: Options) throws(SetupError) {
        _ = try checked(options)
    }

    /// The run user and the limits' defaults and maxima the options ask for, or why they are wrong.
    private static func checked(_ options: Options) throws(SetupError) -> (user: RunUser, defaults: RunLimits, maxima: RunLimits) {
        let isRoot = getuid() == 0
        let user: RunUser
        do {
            user = isRoot ? try RunUser.lookup(options.runUser ?? "nobody") : RunUser.server
        } catch {
            throw SetupError(description: error.description)
        }
        if !isRoot, let wanted = options.runUser {
            throw SetupError(description: "--run-user \(wanted) needs a server started as root; this one runs as \(user)")
        }
        for path in options.readOnlyPaths {
            if let problem = problem(readOnlyPath: path, forbidden: options.forbiddenPaths) {
                throw SetupError(description: "--sandbox-ro-bind \(problem)")
            }
            if !FileManager.default.fileExists(atPath: path) { throw SetupError(description: "--sandbox-ro-bind \(path): no such file or directory") }
        }
        let maxima = options.maximumLimits.filled(from: RunLimits.defaultMaxima)
        let defaults = options.defaultLimits.filled(from: RunLimits.defaults.capped(by: maxima))
        if let problem = defaults.problems(field: "limits", maxima: maxima).first {
            throw SetupError(
                description: "the runs' default \(problem.field) (--run-memory, --run-processes, --run-open-files, --run-disk) \(problem.message)"
            )
        }
        return (user, defaults, maxima)
    }

    /// Builds the strongest isolation this machine allows and says what is and is not in force.
    /// Throws for a bad option, or when `mode` is `.required` and the sandbox cannot be built.
    public static func detect(_ options: Options) throws(SetupError) -> (Isolation, [Protection]) {
        let isRoot = getuid() == 0
        let (user, defaults, maxima) = try checked(options)
        var report: [Protection] = []
        var sandbox: Sandbox?
        if options.mode != .off {
            switch Sandbox.detect(bwrapPath: options.bwrapPath, user: user, switchesUser: isRoot, readOnlyPaths: options.readOnlyPaths) {
            case .success(let found): sandbox = found
            case .failure(let error):
                if options.mode == .required { throw SetupError(description: "--sandbox required, but \(error.reason)") }
                report.append(Protection(name: "bubblewrap sandbox", active: false, detail: error.reason))
            }
        } else {
            report.append(Protection(name: "bubblewrap sandbox", active: false, detail: "switched off (--sandbox off)"))
        }
        if sandbox != nil {
            report.append(
                Protection(
                    name: "bubblewrap sandbox",
                    active: true,
                    detail: "own user, mount, PID, IPC and UTS namespaces; no capabilities; least view of the file system"
                )
            )
        }
        report.append(Protection(name: "seccomp filter", active: true, detail: "mount, namespaces, ptrace, kexec, bpf, keys and modules refused"))
        let runUIDs = isRoot && sandbox == nil ? RunUIDs(range: options.runUIDs) : nil
        let userDetail =
            if let runUIDs {
                "each run switches to a uid of its own (\(runUIDs.range.lowerBound)-\(runUIDs.range.upperBound))"
            } else if isRoot {
                "runs switch to \(user)"
            } else if sandbox == nil {
                "runs keep the server's unprivileged user \(user): without the sandbox they can see each other's processes"
            } else {
                "runs keep the server's unprivileged user \(user)"
            }
        report.append(Protection(name: "run user", active: true, detail: userDetail))
        var cgroups: Cgroups?
        switch Cgroups.detect(instance: options.instance) {
        case .success(let found):
            cgroups = found
            found.removeLeftovers()
            report.append(Protection(name: "memory and process limits", active: true, detail: "per-run cgroup (\(found.version.rawValue))"))
        case .failure(let error):
            report.append(
                Protection(
                    name: "memory and process limits",
                    active: false,
                    detail: "\(error.reason); per-process limits instead (RLIMIT_DATA, RLIMIT_NPROC), reported as the script's own failure"
                )
            )
        }
        report.append(
            Protection(
                name: "work directory size cap",
                active: sandbox != nil,
                detail: sandbox != nil
                    ? "/work and /tmp are size-capped in-memory file systems" : "without the sandbox only each file's size is capped (RLIMIT_FSIZE)"
            )
        )
        var isolation = Isolation(
            sandbox: sandbox,
            user: user,
            switchesUser: isRoot,
            cgroups: cgroups,
            defaultLimits: defaults,
            maximumLimits: maxima,
            forbiddenPaths: options.forbiddenPaths,
            instance: options.instance
        )
        isolation.runUIDs = runUIDs
        return (isolation, report)
    }

    /// Why `path` may not be shown read-only to runs, or nil if it may: it must be absolute and
    /// must neither be nor contain nor lie inside a forbidden path.
    public static func problem(readOnlyPath path: String, forbidden: [String]) -> String? {
        if let problem = Event.problem(readOnlyPath: path) { return problem }
        let normalized = URL(fileURLWithPath: path).standardizedFileURL.path
        for hidden in forbidden {
            let hidden = URL(fileURLWithPath: hidden).standardizedFileURL.path
            if normalized == "/" || normalized == hidden || hidden.hasPrefix(normalized + "/") || normalized.hasPrefix(hidden + "/") {
                return "'\(path)' would show the server's data directory to runs"
            }
        }
        return missing(readOnlyPath: path)
    }

    /// A path that is not on this machine cannot be shown to runs: bubblewrap would refuse to
    /// build the sandbox. Checked when the event is saved, and again before each run.
    static func missing(readOnlyPath path: String) -> String? {
        FileManager.default.fileExists(atPath: path) ? nil : "'\(path)' does not exist on this server; create it, or take it out of readOnlyPaths"
    }

    /// The run's limits: the event's, else the defaults, never above the maxima.
    func limits(for event: Event) -> RunLimits {
        (event.limits ?? RunLimits()).filled(from: defaultLimits).capped(by: maximumLimits)
    }
}

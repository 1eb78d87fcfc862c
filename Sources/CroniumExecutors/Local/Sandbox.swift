import CCroniumSystem
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Isolation for local runs with bubblewrap. A run sees a file system built for it: `/usr` and the
/// top-level links into it, a short list of `/etc` files, its script and the runtime helper
/// libraries read-only in `/run/cronium` beside its runtime socket,
/// and two private, size-capped, in-memory places it may write: its work directory `/work` and
/// `/tmp`. Files of the server's reach only (the script, the account files) are handed over as
/// descriptors and copied in, since bubblewrap opens bind sources as the run user. It runs as the
/// run user in its own user, mount, PID, IPC, UTS (and, without network access, network)
/// namespaces, with no capability and a seccomp filter (see `CCroniumSystem`).
public struct Sandbox: Sendable, Equatable {
    public var bwrapPath: String
    /// Host paths every run sees read-only (`--sandbox-ro-bind`), besides the built-in view.
    public var readOnlyPaths: [String]
    /// Who the script is inside the sandbox (the same ids outside).
    var user: RunUser
    /// The `passwd` and `group` files runs see: the run user's entries and nobody's.
    var accounts: Accounts
    /// The part of the command line that is the same for every run: the system directories and
    /// `/etc`, looked up once instead of on every run.
    private var rootArguments: [String]

    struct Accounts: Sendable, Equatable {
        var passwd: [UInt8]
        var group: [UInt8]
    }

    /// Where a run's own files appear inside the sandbox.
    public static let workDirectory = "/work"
    public static let runDirectory = "/run/cronium"

    /// The `/etc` entries a script needs for names, addresses, certificates, time zones and the
    /// dynamic linker. Nothing else of `/etc` (no shadow, no ssh, no sudoers) is visible.
    static let etcEntries = [
        "resolv.conf", "hosts", "host.conf", "nsswitch.conf", "gai.conf", "services", "protocols",
        "ssl", "ca-certificates", "ca-certificates.conf", "pki", "crypto-policies",
        "localtime", "timezone", "alternatives", "ld.so.cache", "ld.so.conf", "ld.so.conf.d",
        "mime.types", "os-release", "debian_version",
    ]
    /// Top-level directories that are links into /usr on merged-/usr systems, real directories elsewhere.
    static let systemDirectories = ["/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"]

    init(bwrapPath: String, readOnlyPaths: [String], user: RunUser) {
        self.bwrapPath = bwrapPath
        self.readOnlyPaths = readOnlyPaths
        self.user = user
        self.accounts = Self.accounts(for: user)
        var root = ["--ro-bind", "/usr", "/usr"]
        for directory in Self.systemDirectories {
            if let target = try? FileManager.default.destinationOfSymbolicLink(atPath: directory) {
                root += ["--symlink", target, directory]
            } else if FileManager.default.fileExists(atPath: directory) {
                root += ["--ro-bind", directory, directory]
            }
        }
        root += ["--dir", "/etc"]
        for entry in Self.etcEntries { root += ["--ro-bind-try", "/etc/\(entry)", "/etc/\(entry)"] }
        rootArguments = root
    }

    /// What one run asks of the sandbox.
    public struct Invocation: Sendable {
        /// Files shown read-only in ``runDirectory`` (the script, the helper libraries), by their
        /// paths there.
        public var runFiles: [(name: String, contents: [UInt8])]
        /// Host files shown writable at a path inside: the run's runtime socket.
        public var binds: [(host: String, inside: String)] = []
        public var network: Bool
        public var diskBytes: UInt64
        public var extraReadOnlyPaths: [String]
        public var command: [String]
        /// Whether the script waits at a ``Gate`` until the caller has put the sandbox into the
        /// run's cgroup.
        public var gated: Bool = false

        public init(runFiles: [(name: String, contents: [UInt8])], network: Bool, diskBytes: UInt64, extraReadOnlyPaths: [String], command: [String])
        {
            self.runFiles = runFiles
            self.network = network
            self.diskBytes = diskBytes
            self.extraReadOnlyPaths = extraReadOnlyPaths
            self.command = command
        }
    }

    /// What ``prepare(_:)`` made for one run.
    public struct Prepared: Sendable {
        public var arguments: [String]
        /// The child's descriptors, given to it as 3, 4, …; the caller closes its copies once the
        /// child has started.
        public var descriptors: [Int32]
        /// The caller's side of the gate, for a gated invocation.
        var gate: Gate?
    }

    /// The bwrap command line for `invocation`, and the descriptors it reads.
    public func prepare(_ invocation: Invocation) throws -> Prepared {
        var descriptors: [Int32] = []
        var gate: Gate?
        func failed(_ what: String) -> IsolationError {
            let error = IsolationError(cannot: "\(what) for the sandbox")
            for fd in descriptors { close(fd) }
            gate?.discard()
            return error
        }
        func feed(_ bytes: [UInt8]) throws -> String {
            guard let file = MemoryFile(bytes) else { throw failed("hand a file over") }
            descriptors.append(file.descriptor)
            return "\(2 + descriptors.count)"
        }
        var args = [
            bwrapPath,
            "--unshare-user", "--uid", "\(user.uid)", "--gid", "\(user.gid)", "--disable-userns",
            "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
            "--die-with-parent", "--cap-drop", "ALL", "--seccomp", try feed(Self.seccompProgram),
        ]
        if !invocation.network { args.append("--unshare-net") }
        if invocation.gated {
            var info: [Int32] = [-1, -1]
            var release: [Int32] = [-1, -1]
            guard cronium_pipe(&info) == 0 else { throw failed("make a pipe") }
            guard cronium_pipe(&release) == 0 else {
                close(info[0]); close(info[1])
                throw failed("make a pipe")
            }
            gate = Gate(info: info[0], release: release[1])
            descriptors += [info[1], release[0]]
            args += ["--info-fd", "\(2 + descriptors.count - 1)", "--block-fd", "\(2 + descriptors.count)"]
        }
        args += rootArguments
        // Files are copied into the sandbox's own root (`--file`), which `--remount-ro /` makes
        // read-only at the end: a read-only bind mount per file (`--ro-bind-data`) cost about
        // 0.12 ms more each, and a run has eight of them with the helpers.
        args += [
            "--perms", "0644", "--file", try feed(accounts.passwd), "/etc/passwd",
            "--perms", "0644", "--file", try feed(accounts.group), "/etc/group",
            "--proc", "/proc", "--dev", "/dev",
            "--size", "\(invocation.diskBytes)", "--perms", "1777", "--tmpfs", "/tmp",
            "--size", "\(invocation.diskBytes)", "--perms", "0700", "--tmpfs", Self.workDirectory,
        ]
        for file in invocation.runFiles {
            args += ["--perms", "0444", "--file", try feed(file.contents), "\(Self.runDirectory)/\(file.name)"]
        }
        for bind in invocation.binds { args += ["--bind", bind.host, bind.inside] }
        for path in readOnlyPaths + invocation.extraReadOnlyPaths { args += ["--ro-bind", path, path] }
        // The root the sandbox built is a file system of its own: nothing but /work and /tmp stays writable.
        args += ["--remount-ro", "/", "--chdir", Self.workDirectory, "--"]
        return Prepared(arguments: args + invocation.command, descriptors: descriptors, gate: gate)
    }

    /// Holds a sandbox before it starts the script, so that the run's cgroup can be joined while
    /// bubblewrap builds the sandbox instead of before it starts: joining a cgroup waits for the
    /// kernel (an RCU grace period, about 10 ms), and so does bubblewrap's set-up; side by side they
    /// take the longer of the two. bubblewrap reports the sandbox's first process on `info`
    /// (`--info-fd`) and waits for a byte on `release` (`--block-fd`) before it starts the script.
    struct Gate: Sendable {
        let info: Int32
        let release: Int32

        /// Puts bubblewrap (`monitor`) and the sandbox's first process into `cgroup`, then lets the
        /// script start. On failure `release` stays open: the caller kills the sandbox first, since
        /// closing `release` would let the script start outside its cgroup.
        func admit(monitor: pid_t, into cgroup: RunCgroup) throws {
            // bubblewrap itself first, at once: if it has not created the sandbox yet, the sandbox
            // is born inside the group.
            try cgroup.admit([monitor])
            var text = ""
            var buffer = [UInt8](repeating: 0, count: 256)
            while !text.contains("}") {
                let count = read(info, &buffer, buffer.count)
                if count < 0 && errno == EINTR { continue }
                guard count > 0 else { break }
                text += String(decoding: buffer[0..<count], as: UTF8.self)
            }
            close(info)
            guard let report = try? JSONDecoder().decode(Report.self, from: Data(text.utf8)) else {
                throw IsolationError("bubblewrap did not report its sandbox (\(text.isEmpty ? "nothing" : text))")
            }
            try cgroup.admit([report.childPid])
            guard write(release, "x", 1) == 1 else { throw IsolationError(cannot: "start the script") }
            close(release)
        }

        func discard() {
            close(info)
            close(release)
        }

        /// What bubblewrap writes on `--info-fd` (it adds the namespaces' ids).
        private struct Report: Decodable {
            let childPid: pid_t
            enum CodingKeys: String, CodingKey { case childPid = "child-pid" }
        }
    }

    /// The seccomp program, built once.
    static let seccompProgram: [UInt8] = {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let length = buffer.withUnsafeMutableBytes { cronium_seccomp_program($0.baseAddress, Int32($0.count)) }
        precondition(length > 0, "the seccomp program does not fit its buffer")
        return Array(buffer[0..<Int(length)])
    }()

    /// The `passwd` and `group` files runs see.
    static func accounts(for user: RunUser) -> Accounts {
        let group = RunUser.groupName(user.gid) ?? user.name
        var passwd = "\(user.name):x:\(user.uid):\(user.gid):Cronium run:\(workDirectory):/bin/sh\n"
        var groups = "\(group):x:\(user.gid):\n"
        if user.uid != 65534 { passwd += "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n" }
        if user.gid != 65534 { groups += "nogroup:x:65534:\n" }
        return Accounts(passwd: Array(passwd.utf8), group: Array(groups.utf8))
    }

    /// bubblewrap on this machine, if it can build the whole boundary here as `user` (containers
    /// and some distributions forbid unprivileged user namespaces); otherwise why not.
    static func detect(bwrapPath: String?, user: RunUser, switchesUser: Bool, readOnlyPaths: [String]) -> Result<Sandbox, DetectError> {
        let candidates = bwrapPath.map { [$0] } ?? ["/usr/bin/bwrap", "/usr/local/bin/bwrap", "/bin/bwrap"]
        guard let path = candidates.first(where: FileManager.default.isExecutableFile) else {
            return .failure(DetectError(reason: bwrapPath.map { "--bwrap \($0) is not an executable file" } ?? "bubblewrap (bwrap) is not installed"))
        }
        let sandbox = Sandbox(bwrapPath: path, readOnlyPaths: readOnlyPaths, user: user)
        let probe: Prepared
        do {
            probe = try sandbox.prepare(
                Invocation(
                    runFiles: [("probe", [])],
                    network: false,
                    diskBytes: 1 << 20,
                    extraReadOnlyPaths: [],
                    command: ["/usr/bin/true"]
                )
            )
        } catch {
            return .failure(DetectError(reason: "\(error)"))
        }
        defer { for fd in probe.descriptors { close(fd) } }
        var spec = SpawnSpec(argv: probe.arguments, environment: ["PATH": "/usr/bin:/bin"], user: switchesUser ? user : nil)
        spec.extraDescriptors = probe.descriptors
        let result = runToEnd(spec)
        guard result.status == 0 else {
            let detail = result.errorOutput.trimmingCharacters(in: .whitespacesAndNewlines)
            return .failure(
                DetectError(reason: "bubblewrap cannot build the sandbox here (\(detail.isEmpty ? "exit status \(result.status)" : detail))")
            )
        }
        return .success(sandbox)
    }

    public struct DetectError: Error, Sendable, CustomStringConvertible {
        public let reason: String
        public var description: String { reason }
    }

    /// Starts `spec`, waits for it and returns its exit status (-1 for a signal or a failed
    /// start) and what it wrote on stderr.
    static func runToEnd(_ spec: SpawnSpec) -> (status: Int32, errorOutput: String) {
        let child: ChildProcess
        do { child = try ChildProcess.spawn(spec) } catch { return (-1, "\(error)") }
        close(child.stdout)
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = read(child.stderr, &buffer, buffer.count)
            if count <= 0 { break }
            bytes += buffer[0..<count]
        }
        close(child.stderr)
        let status: Int32 = if case .exited(let code) = child.reap() { Int32(code) } else { -1 }
        return (status, String(decoding: bytes, as: UTF8.self))
    }
}

/// An anonymous in-memory file holding `bytes`, positioned at its start: how bubblewrap gets the
/// seccomp program and the files it copies into the sandbox (it reads each descriptor to its end).
struct MemoryFile {
    let descriptor: Int32

    init?(_ bytes: [UInt8]) {
        let fd = cronium_memfd("cronium")
        guard fd >= 0 else { return nil }
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            guard written > 0 else {
                close(fd)
                return nil
            }
            offset += written
        }
        guard lseek(fd, 0, SEEK_SET) == 0 else {
            close(fd)
            return nil
        }
        descriptor = fd
    }
}

extension Sandbox {
    /// Where a run finds its runtime socket (``RuntimeEndpoint``) inside the sandbox.
    public static let runtimeSocket = "\(runDirectory)/runtime.sock"
}

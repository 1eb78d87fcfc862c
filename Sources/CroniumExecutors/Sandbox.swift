import Foundation

/// Isolation for local runs with bubblewrap: own mount, PID, IPC and UTS namespaces, a private
/// writable work directory and /tmp, the rest of the file system read-only, and the data directory
/// (with other runs' files) replaced by an empty one.
public struct Sandbox: Sendable, Equatable {
    public var bwrapPath: String
    /// Hidden from every run: the database, secrets and other executions' work directories live here.
    public var hiddenDirectories: [String]

    public init(bwrapPath: String, hiddenDirectories: [String]) {
        self.bwrapPath = bwrapPath
        self.hiddenDirectories = hiddenDirectories
    }

    /// bubblewrap on PATH, if it can actually create namespaces here (containers often forbid it).
    public static func detect(hiddenDirectories: [String]) -> Sandbox? {
        for directory in ["/usr/bin", "/usr/local/bin", "/bin"] {
            let path = "\(directory)/bwrap"
            guard FileManager.default.isExecutableFile(atPath: path) else { continue }
            let probe = [path, "--ro-bind", "/", "/", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--die-with-parent", "/bin/true"]
            return PosixSpawn.start(probe).map(PosixSpawn.wait) == 0 ? Sandbox(bwrapPath: path, hiddenDirectories: hiddenDirectories) : nil
        }
        return nil
    }

    /// The bwrap arguments that run `command` inside the sandbox with `workDirectory` as its only
    /// writable place besides a private /tmp.
    public func arguments(workDirectory: String, network: Bool, command: [String]) -> [String] {
        var args = [
            "--die-with-parent", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
            "--ro-bind", "/", "/",
            "--dev", "/dev",
            "--proc", "/proc",
            "--tmpfs", "/tmp",
        ]
        if !network { args.append("--unshare-net") }
        // Later mounts cover earlier ones: hide the data directory first, then open the run's own
        // work directory inside it again.
        for hidden in hiddenDirectories { args += ["--tmpfs", hidden] }
        args += ["--bind", workDirectory, workDirectory, "--chdir", workDirectory, "--"]
        return args + command
    }
}

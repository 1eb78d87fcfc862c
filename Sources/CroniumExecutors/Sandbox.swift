import Foundation

#if canImport(Glibc)
import Glibc
#endif

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
            return exitStatus(of: probe) == 0 ? Sandbox(bwrapPath: path, hiddenDirectories: hiddenDirectories) : nil
        }
        return nil
    }

    /// Runs `argv` with no input or output and returns its exit status (-1 if it could not
    /// start). `posix_spawn` rather than Foundation's `Process`, which walks every open file
    /// descriptor first: the probe runs at start-up, before the server is ready.
    private static func exitStatus(of argv: [String]) -> Int32 {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for fd: Int32 in 0...2 { posix_spawn_file_actions_addopen(&actions, fd, "/dev/null", fd == 0 ? O_RDONLY : O_WRONLY, 0) }
        let cArgs = argv.map { strdup($0) } + [nil]
        let cEnv: [UnsafeMutablePointer<CChar>?] = [strdup("PATH=/usr/bin:/bin"), nil]
        defer { (cArgs + cEnv).forEach { free($0) } }
        var pid: pid_t = 0
        guard posix_spawn(&pid, argv[0], &actions, nil, cArgs, cEnv) == 0 else { return -1 }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            guard errno == EINTR else { return -1 }
        }
        // WIFEXITED and WEXITSTATUS, which Swift does not import.
        return status & 0x7f == 0 ? (status >> 8) & 0xff : -1
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

import CCroniumSystem
import CroniumExecutors
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// `posix_spawn` with no input and output to /dev/null (or to `stdout`), for the few places that
/// start a process outside a run: the benchmarks' raw baseline. Runs themselves start through
/// ``ChildProcess``, which can also switch users, join cgroups and set limits.
enum PosixSpawn {
    /// Starts `argv` and returns its pid, or nil if it could not start. `stdout`, when given, is a
    /// descriptor the child writes its standard output to; `extra` are given to the child as 3, 4, …;
    /// the caller closes its own copies.
    static func start(
        _ argv: [String],
        environment: [String] = ["PATH=/usr/bin:/bin"],
        stdout: Int32? = nil,
        extra: [Int32] = [],
        user: RunUser? = nil
    ) -> pid_t? {
        if let user { return start(argv, environment: environment, stdout: stdout, extra: extra, as: user) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        if let stdout {
            posix_spawn_file_actions_adddup2(&actions, stdout, 1)
        } else {
            posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        }
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        for (index, descriptor) in extra.enumerated() { posix_spawn_file_actions_adddup2(&actions, descriptor, Int32(3 + index)) }
        let cArgs = argv.map { strdup($0) } + [nil]
        let cEnv = environment.map { strdup($0) } + [nil]
        defer { for pointer in cArgs + cEnv { free(pointer) } }
        var pid: pid_t = 0
        return posix_spawn(&pid, argv[0], &actions, nil, cArgs, cEnv) == 0 ? pid : nil
    }

    /// posix_spawn cannot switch users: the same fork and exec with nothing between them but the
    /// switch (the run user's raw cost, as a root server's runs pay it).
    private static func start(_ argv: [String], environment: [String], stdout: Int32?, extra: [Int32], as user: RunUser) -> pid_t? {
        let null = open("/dev/null", O_RDWR | O_CLOEXEC)
        defer { close(null) }
        let cArgs = argv.map { strdup($0) } + [nil]
        let cEnv = environment.map { strdup($0) } + [nil]
        defer { for pointer in cArgs + cEnv { free(pointer) } }
        var pid: pid_t = 0
        var failedStep: UnsafePointer<CChar>?
        let code = cArgs.withUnsafeBufferPointer { args in
            cEnv.withUnsafeBufferPointer { env in
                extra.withUnsafeBufferPointer { extra in
                    var request = cronium_spawn_request(
                        path: args[0],
                        argv: args.baseAddress,
                        envp: env.baseAddress,
                        cwd: nil,
                        stdin_fd: null,
                        stdout_fd: stdout ?? null,
                        stderr_fd: null,
                        extra_fds: extra.baseAddress,
                        extra_fd_count: Int32(extra.count),
                        cgroup_fds: nil,
                        cgroup_fd_count: 0,
                        limits: nil,
                        limit_count: 0,
                        change_ids: 1,
                        uid: user.uid,
                        gid: user.gid,
                        seccomp_filter: nil,
                        seccomp_filter_length: 0
                    )
                    return cronium_spawn(&request, &pid, &failedStep)
                }
            }
        }
        return code == 0 ? pid : nil
    }

    /// Waits for `pid` to end and returns its exit status, or -1 when a signal ended it.
    @discardableResult
    static func wait(_ pid: pid_t) -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            guard errno == EINTR else { return -1 }
        }
        // WIFEXITED and WEXITSTATUS, which Swift does not import.
        return status & 0x7f == 0 ? (status >> 8) & 0xff : -1
    }
}

import CCroniumSystem
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// How a run's process is started: who it runs as, where, with which limits and descriptors.
/// Everything here is applied by the child itself between fork and exec (see `CCroniumSystem`), so
/// no instruction of the script runs before its boundary is in place.
struct SpawnSpec {
    var argv: [String]
    var environment: [String: String]
    var workDirectory: String?
    /// Switch to this user and group when the server runs as root.
    var user: RunUser?
    var limits: [(resource: Int32, value: UInt64)] = []
    /// `cgroup.procs` files, open for writing, that the child joins before anything else.
    var cgroupProcs: [Int32] = []
    /// Given to the child as descriptors 3, 4, … in this order.
    var extraDescriptors: [Int32] = []
    /// A seccomp program the child installs on itself right before exec (unsandboxed runs; a
    /// sandboxed run hands it to bubblewrap instead, which must still create namespaces).
    var seccompFilter: [UInt8]?
}

/// A started child: its id and the read ends of its output pipes.
struct ChildProcess {
    let pid: pid_t
    let stdout: Int32
    let stderr: Int32

    struct SpawnError: Error, CustomStringConvertible {
        let step: String
        let code: Int32
        var description: String { "\(step) failed: \(String(cString: strerror(code)))" }
    }

    static func spawn(_ spec: SpawnSpec) throws(SpawnError) -> ChildProcess {
        var out: [Int32] = [-1, -1]
        var err: [Int32] = [-1, -1]
        guard cronium_pipe(&out) == 0 else { throw SpawnError(step: "pipe", code: errno) }
        guard cronium_pipe(&err) == 0 else {
            close(out[0]); close(out[1])
            throw SpawnError(step: "pipe", code: errno)
        }
        let null = open("/dev/null", O_RDONLY | O_CLOEXEC)
        defer {
            close(out[1]); close(err[1]); close(null)
        }
        let argv = spec.argv.map { strdup($0) } + [nil]
        let envp = spec.environment.sorted { $0.key < $1.key }.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for pointer in argv + envp { free(pointer) } }
        let limits = spec.limits.map { cronium_rlimit(resource: $0.resource, value: $0.value) }
        let filter = spec.seccompFilter ?? []
        var pid: pid_t = 0
        var failedStep: UnsafePointer<CChar>?
        let code: Int32 = argv.withUnsafeBufferPointer { argv in
            envp.withUnsafeBufferPointer { envp in
                spec.workDirectory.withOptionalCString { cwd in
                    spec.extraDescriptors.withUnsafeBufferPointer { extra in
                        spec.cgroupProcs.withUnsafeBufferPointer { cgroups in
                            limits.withUnsafeBufferPointer { limits in
                                filter.withUnsafeBytes { filterBytes in
                                    var request = cronium_spawn_request(
                                        path: argv[0],
                                        argv: argv.baseAddress,
                                        envp: envp.baseAddress,
                                        cwd: cwd,
                                        stdin_fd: null,
                                        stdout_fd: out[1],
                                        stderr_fd: err[1],
                                        extra_fds: extra.baseAddress,
                                        extra_fd_count: Int32(extra.count),
                                        cgroup_fds: cgroups.baseAddress,
                                        cgroup_fd_count: Int32(cgroups.count),
                                        limits: limits.baseAddress,
                                        limit_count: Int32(limits.count),
                                        change_ids: spec.user == nil ? 0 : 1,
                                        uid: spec.user?.uid ?? 0,
                                        gid: spec.user?.gid ?? 0,
                                        seccomp_filter: spec.seccompFilter == nil ? nil : filterBytes.baseAddress,
                                        seccomp_filter_length: Int32(filterBytes.count)
                                    )
                                    return cronium_spawn(&request, &pid, &failedStep)
                                }
                            }
                        }
                    }
                }
            }
        }
        guard code == 0 else {
            close(out[0]); close(err[0])
            throw SpawnError(step: failedStep.map { String(cString: $0) } ?? "spawn", code: code)
        }
        return ChildProcess(pid: pid, stdout: out[0], stderr: err[0])
    }

    /// Whether the child has exited (without reaping it).
    var hasExited: Bool { cronium_has_exited(pid) != 0 }

    /// How a child ended.
    enum Termination: Equatable {
        case exited(Int)
        case signaled(Int)

        /// The shell's convention: the exit status, or 128 + the signal.
        var exitCode: Int {
            switch self {
            case .exited(let code): code
            case .signaled(let signal): 128 + signal
            }
        }
    }

    /// Reaps the child, which must have exited.
    @discardableResult
    func reap() -> Termination {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        // WIFEXITED, WEXITSTATUS and WTERMSIG, which Swift does not import.
        return status & 0x7f == 0 ? .exited(Int((status >> 8) & 0xff)) : .signaled(Int(status & 0x7f))
    }
}

extension Optional where Wrapped == String {
    fileprivate func withOptionalCString<T>(_ body: (UnsafePointer<CChar>?) -> T) -> T {
        switch self {
        case .some(let string): string.withCString { body($0) }
        case .none: body(nil)
        }
    }
}

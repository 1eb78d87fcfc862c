import CCroniumSystem
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Starts a program for a test without Foundation's `Process`, whose children inherit every
/// descriptor not marked close-on-exec: a long-lived child (sshd) that inherited the write end of
/// another test's pipe would keep that test's read from ever ending. This child gets only
/// standard input (empty), standard output and error (to `output`, or stderr inherited), with
/// default signal handling and an empty signal mask (a thread of the cooperative pool blocks them).
public func spawn(_ arguments: [String], output: String? = nil) throws -> pid_t {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    if let output {
        posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
    } else {
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
    }
    return try start(arguments, environment: nil, actions: &actions)
}

/// posix_spawn with `actions`, every descriptor from 3 up closed, default signal handling and an
/// empty signal mask; `environment` nil: this process's.
private func start(_ arguments: [String], environment: [String]?, actions: inout posix_spawn_file_actions_t) throws -> pid_t {
    addCloseFrom(&actions, 3)
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    var none = sigset_t()
    sigemptyset(&none)
    var all = sigset_t()
    sigfillset(&all)
    posix_spawnattr_setsigmask(&attributes, &none)
    posix_spawnattr_setsigdefault(&attributes, &all)
    posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
    var pid: pid_t = 0
    let argv = arguments.map { strdup($0) } + [nil]
    var envp = environment.map { $0.map { strdup($0) } + [nil] }
    defer {
        for pointer in argv { free(pointer) }
        for pointer in envp ?? [] { free(pointer) }
    }
    let status =
        if envp != nil {
            envp!.withUnsafeMutableBufferPointer { posix_spawn(&pid, arguments[0], &actions, &attributes, argv, $0.baseAddress) }
        } else {
            posix_spawn(&pid, arguments[0], &actions, &attributes, argv, environ)
        }
    guard status == 0 else { throw TestSetupError("cannot start \(arguments[0]): \(String(cString: strerror(status)))") }
    return pid
}

/// Waits for `pid` (a child of ``spawn(_:output:)``) and returns its exit status (128 + the
/// signal that ended it). Blocks: call it off the cooperative pool.
public func waitForExit(_ pid: pid_t) -> Int32 {
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    let signal = status & 0x7F
    return signal == 0 ? (status >> 8) & 0xFF : 128 + signal
}

/// glibc's (2.34+), from <spawn.h> under _GNU_SOURCE, which the Glibc module does not export.
@_silgen_name("posix_spawn_file_actions_addclosefrom_np")
private func addCloseFrom(_ actions: UnsafeMutablePointer<posix_spawn_file_actions_t>, _ from: Int32) -> Int32

/// A child whose standard input and output are pipes to the test (stderr is inherited, or goes
/// to `errors`, a file): for programs that speak a protocol there, such as `cronium-runner`, and
/// for running the CLI (Foundation's `Process` crashes in `run()` when the test process has many
/// descriptors open, as the whole suite does).
public struct PipedChild: Sendable {
    public let pid: pid_t
    /// Write to the child's standard input (close it to send end-of-file).
    public let input: Int32
    /// Read the child's standard output.
    public let output: Int32

    public init(_ arguments: [String], environment: [String], errors: String? = nil) throws {
        var toChild: [Int32] = [0, 0]
        var fromChild: [Int32] = [0, 0]
        guard cronium_pipe(&toChild) == 0, cronium_pipe(&fromChild) == 0 else {
            throw TestSetupError("cannot make pipes: \(String(cString: strerror(errno)))")
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, toChild[0], 0)
        posix_spawn_file_actions_adddup2(&actions, fromChild[1], 1)
        if let errors { posix_spawn_file_actions_addopen(&actions, 2, errors, O_WRONLY | O_CREAT | O_TRUNC, 0o600) }
        defer {
            close(toChild[0])
            close(fromChild[1])
        }
        do {
            pid = try start(arguments, environment: environment, actions: &actions)
        } catch {
            close(toChild[1])
            close(fromChild[0])
            throw error
        }
        input = toChild[1]
        output = fromChild[0]
    }

    /// Writes all of `bytes` to the child's standard input.
    public func write(_ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { Glibc.write(input, $0.baseAddress, $0.count) }
            if written <= 0 { return }
            offset += written
        }
    }

    /// Up to 64 KiB of the child's output; empty at its end. Blocks: call it off the pool.
    public func read() -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        let count = Glibc.read(output, &buffer, buffer.count)
        return count > 0 ? Array(buffer[0..<count]) : []
    }

    public func closeInput() { close(input) }

    /// The rest of the child's output, to its end (then the output is closed). Blocks.
    public func readToEnd() -> [UInt8] {
        var all: [UInt8] = []
        while case let chunk = read(), !chunk.isEmpty { all += chunk }
        close(output)
        return all
    }

    /// This process's environment, as ``init(_:environment:errors:)`` takes it.
    public static var inheritedEnvironment: [String] { ProcessInfo.processInfo.environment.map { "\($0)=\($1)" } }
}

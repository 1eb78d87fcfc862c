import CroniumExecutors
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A command for the raw baseline: its arguments and, made afresh for each start, the
/// descriptors it reads (bubblewrap reads its seccomp program and data files to their end).
struct RawCommand: Sendable {
    let argv: [String]
    /// Who runs it: the run user, when a root server's runs switch to it.
    var user: RunUser?
    /// `NAME=value` each.
    var environment: [String]
    let descriptors: @Sendable () throws -> [Int32]

    init(
        argv: [String],
        user: RunUser? = nil,
        environment: [String] = ["PATH=/usr/bin:/bin"],
        descriptors: @escaping @Sendable () throws -> [Int32] = { [] }
    ) {
        self.argv = argv
        self.user = user
        self.environment = environment
        self.descriptors = descriptors
    }
}

/// The floor every local run is compared with: `posix_spawn` and `waitpid` of the same command,
/// with nothing of Cronium in between.
enum RawSpawn {
    /// Starts `argv` without waiting for it.
    static func start(_ argv: [String]) -> pid_t {
        guard let pid = PosixSpawn.start(argv) else { preconditionFailure("cannot start \(argv[0])") }
        return pid
    }

    /// SIGTERM, then waits for the process to exit.
    static func stop(_ pid: pid_t) {
        kill(pid, SIGTERM)
        PosixSpawn.wait(pid)
    }

    /// Runs `command` to its end and returns what it wrote on stdout.
    static func run(_ command: RawCommand, captureOutput: Bool) -> String {
        let argv = command.argv
        guard let extra = try? command.descriptors() else { preconditionFailure("cannot prepare \(argv[0])'s descriptors") }
        defer { for fd in extra { close(fd) } }
        guard captureOutput else {
            guard let pid = PosixSpawn.start(argv, environment: command.environment, extra: extra, user: command.user) else {
                preconditionFailure("cannot start \(argv[0])")
            }
            PosixSpawn.wait(pid)
            return ""
        }
        var fds: [Int32] = [-1, -1]
        precondition(pipe(&fds) == 0, "pipe failed")
        // The child must not hold the read end, or reading would never see the end.
        _ = fcntl(fds[0], F_SETFD, FD_CLOEXEC)
        guard let pid = PosixSpawn.start(argv, environment: command.environment, stdout: fds[1], extra: extra, user: command.user) else {
            preconditionFailure("cannot start \(argv[0])")
        }
        close(fds[1])
        var buffer = [UInt8](repeating: 0, count: 4096)
        var bytes: [UInt8] = []
        while true {
            let n = read(fds[0], &buffer, buffer.count)
            if n <= 0 { break }
            bytes += buffer[0..<n]
        }
        close(fds[0])
        PosixSpawn.wait(pid)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Runs `command` `count` times on `concurrency` threads and returns runs per second.
    static func rate(_ command: RawCommand, count: Int, concurrency: Int) -> Double {
        let start = ContinuousClock.now
        let perWorker = count / concurrency
        DispatchQueue.concurrentPerform(iterations: concurrency) { _ in
            for _ in 0..<perWorker { _ = run(command, captureOutput: false) }
        }
        return Double(perWorker * concurrency) / (milliseconds(ContinuousClock.now - start) / 1000)
    }
}

/// A TCP port nothing listens on right now, for a server started by a benchmark.
func freePort() -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
    _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// Whether `GET path` on 127.0.0.1:`port` answers 200, over a plain blocking socket: an HTTP
/// client library would add its own connection pooling and retry delays to what is measured.
func httpGetIsOK(port: Int, path: String) -> Bool {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard connected == 0 else { return false }
    let request = Array("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".utf8)
    guard send(fd, request, request.count, 0) == request.count else { return false }
    var buffer = [UInt8](repeating: 0, count: 64)
    let n = recv(fd, &buffer, buffer.count, 0)
    return n > 12 && String(decoding: buffer[0..<n], as: UTF8.self).hasPrefix("HTTP/1.1 200")
}

import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The floor every local run is compared with: `posix_spawn` and `waitpid` of the same command,
/// with nothing of Cronium in between.
enum RawSpawn {
    /// Starts `argv` with no input or output and returns its pid, without waiting.
    static func start(_ argv: [String], environment: [String] = ["PATH=/usr/bin:/bin"]) -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for fd: Int32 in 0...2 { posix_spawn_file_actions_addopen(&actions, fd, "/dev/null", fd == 0 ? O_RDONLY : O_WRONLY, 0) }
        let cArgs = argv.map { strdup($0) } + [nil]
        let cEnv = environment.map { strdup($0) } + [nil]
        defer { (cArgs + cEnv).forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, argv[0], &actions, nil, cArgs, cEnv)
        precondition(spawned == 0, "posix_spawn \(argv[0]) failed: \(spawned)")
        return pid
    }

    /// SIGTERM, then waits for the process to exit.
    static func stop(_ pid: pid_t) {
        kill(pid, SIGTERM)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    }

    /// Runs `argv` to its end and returns what it wrote on stdout (stderr goes to /dev/null).
    static func run(_ argv: [String], environment: [String] = ["PATH=/usr/bin:/bin"], captureOutput: Bool) -> String {
        var fds: [Int32] = [-1, -1]
        if captureOutput { precondition(pipe(&fds) == 0, "pipe failed") }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        if captureOutput {
            posix_spawn_file_actions_adddup2(&actions, fds[1], 1)
            posix_spawn_file_actions_addclose(&actions, fds[0])
            posix_spawn_file_actions_addclose(&actions, fds[1])
        } else {
            posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        }
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        let cArgs = argv.map { strdup($0) } + [nil]
        let cEnv = environment.map { strdup($0) } + [nil]
        defer { (cArgs + cEnv).forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, argv[0], &actions, nil, cArgs, cEnv)
        precondition(spawned == 0, "posix_spawn \(argv[0]) failed: \(spawned)")
        var output = ""
        if captureOutput {
            close(fds[1])
            var buffer = [UInt8](repeating: 0, count: 4096)
            var bytes: [UInt8] = []
            while true {
                let n = read(fds[0], &buffer, buffer.count)
                if n <= 0 { break }
                bytes += buffer[0..<n]
            }
            close(fds[0])
            output = String(decoding: bytes, as: UTF8.self)
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        return output
    }

    /// Runs `argv` `count` times on `concurrency` threads and returns runs per second.
    static func rate(_ argv: [String], count: Int, concurrency: Int) -> Double {
        let start = ContinuousClock.now
        let perWorker = count / concurrency
        DispatchQueue.concurrentPerform(iterations: concurrency) { _ in
            for _ in 0..<perWorker { _ = run(argv, captureOutput: false) }
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

import CroniumTesting
import Foundation
import Synchronization
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// `cronium serve` stopped and started again at once on the same port, as a deploy or a
/// benchmark does, while a client keeps asking `/ready`.
@Suite struct RestartTests {
    /// The start's port check must neither refuse the port for the last server's connections in
    /// TIME_WAIT nor accept a waiting client on a socket that will never answer it.
    @Test func aStoppedServerStartsAgainAtOnceOnItsPortAndNoClientHangs() async throws {
        let directory = try TemporaryDirectory("restart")
        defer { directory.remove() }
        let data = directory.appending("data")
        var server = try await CrashRecoveryTests.ServerProcess.start(dataDirectory: data)
        let port = server.port
        let poller = ReadyPoller(port: port)
        for _ in 0..<5 {
            let before = poller.answered
            #expect(try await eventually { poller.answered > before }, "each server must answer for the test to mean anything")
            let stopping = server.process
            stopping.terminate()
            #expect(try await eventually { !stopping.isRunning })
            server = try await CrashRecoveryTests.ServerProcess.start(dataDirectory: data, port: port)
            #expect(server.port == port)
        }
        server.process.terminate()
        poller.stop()
        #expect(poller.hung == 0, "\(poller.hung) requests got no answer within 3 s")
    }
}

/// Asks `GET /ready` over and over on a thread of its own, each time on a new connection, and
/// counts the requests answered and those accepted but left without an answer.
final class ReadyPoller: Sendable {
    private let counts = Mutex((answered: 0, hung: 0, stopped: false))
    var answered: Int { counts.withLock { $0.answered } }
    var hung: Int { counts.withLock { $0.hung } }

    init(port: Int) {
        Thread.detachNewThread { [self] in
            while !counts.withLock({ $0.stopped }) {
                switch Self.ask(port: port) {
                case .answered: counts.withLock { $0.answered += 1 }
                case .hung: counts.withLock { $0.hung += 1 }
                case .refused: usleep(500)
                }
            }
        }
    }

    func stop() { counts.withLock { $0.stopped = true } }

    private enum Outcome { case answered, hung, refused }

    private static func ask(port: Int) -> Outcome {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return .refused }
        defer { close(fd) }
        var timeout = timeval(tv_sec: 3, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { return .refused }
        let request = Array("GET /ready HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".utf8)
        guard send(fd, request, request.count, Int32(MSG_NOSIGNAL)) == request.count else { return .refused }
        var buffer = [UInt8](repeating: 0, count: 64)
        let received = recv(fd, &buffer, buffer.count, 0)
        if received > 0 { return .answered }
        // A reset or an orderly close from a server going away is an answer of sorts; only
        // silence until the timeout is a client left hanging.
        return received < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) ? .hung : .refused
    }
}

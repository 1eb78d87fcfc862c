import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle

/// A real HTTP server on a free loopback port that answers every request as its handler says,
/// for testing HTTP events and webhooks against the wire, not a mock.
public final class LocalHTTPServer: Sendable {
    /// A request as it arrived.
    public struct Received: Sendable {
        public var method: String
        public var path: String
        /// By lower-case name.
        public var headers: [String: String]
        public var body: [UInt8]
        public var at: ContinuousClock.Instant

        public var text: String { String(decoding: body, as: UTF8.self) }
    }

    /// What to answer.
    public struct Reply: Sendable {
        public var status: Int
        public var headers: [String: String]
        public var body: String

        public init(_ status: Int, headers: [String: String] = [:], _ body: String = "") {
            self.status = status
            self.headers = headers
            self.body = body
        }
    }

    public let port: Int
    private let group: ServiceGroup
    private let task: Task<Void, any Error>

    private init(port: Int, group: ServiceGroup, task: Task<Void, any Error>) {
        self.port = port
        self.group = group
        self.task = task
    }

    public var url: String { "http://127.0.0.1:\(port)" }

    /// Answers each request by its path alone.
    public static func start(_ respond: @escaping @Sendable (String) -> (Int, String)) async throws -> LocalHTTPServer {
        try await start(handler: { request in
            let (status, body) = respond(request.path)
            return Reply(status, body)
        })
    }

    /// A server that keeps every request it gets, in order, and answers as `reply` says.
    public static func recording(_ reply: @escaping @Sendable (Received) -> Reply) async throws -> (LocalHTTPServer, ReceivedRequests) {
        let received = ReceivedRequests()
        let server = try await start(handler: { request in
            received.append(request)
            return reply(request)
        })
        return (server, received)
    }

    public static func start(handler: @escaping @Sendable (Received) -> Reply) async throws -> LocalHTTPServer {
        let router = Router()
        for method in [HTTPRequest.Method.get, .post, .put, .patch, .delete] {
            router.on("**", method: method) { request, _ in try await Self.answer(request, handler) }
        }
        let (portStream, portContinuation) = AsyncStream<Int>.makeStream()
        var logger = Logger(label: "test-http")
        logger.logLevel = .warning
        let app = Application(
            router: router,
            configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in portContinuation.yield(channel.localAddress?.port ?? 0) },
            logger: logger
        )
        let group = ServiceGroup(configuration: .init(services: [app], logger: logger))
        let task = Task { try await group.run() }
        var iterator = portStream.makeAsyncIterator()
        guard let port = await iterator.next() else { throw CancellationError() }
        return LocalHTTPServer(port: port, group: group, task: task)
    }

    private static func answer(_ request: Request, _ handler: (Received) -> Reply) async throws -> Response {
        let body = try await request.body.collect(upTo: 16 << 20)
        var headers: [String: String] = [:]
        for field in request.headers { headers[field.name.canonicalName] = field.value }
        let reply = handler(
            Received(method: request.method.rawValue, path: request.uri.path, headers: headers, body: Array(buffer: body), at: .now)
        )
        var fields = HTTPFields()
        for (name, value) in reply.headers { if let name = HTTPField.Name(name) { fields[name] = value } }
        return Response(status: .init(code: reply.status), headers: fields, body: .init(byteBuffer: ByteBuffer(string: reply.body)))
    }

    public func stop() {
        let group = self.group
        Task { await group.triggerGracefulShutdown() }
    }
}

/// Requests a test server received, in order, taken from the handler's thread.
public final class ReceivedRequests: Sendable {
    private let received = NSLock()
    nonisolated(unsafe) private var requests: [LocalHTTPServer.Received] = []

    public init() {}

    public func append(_ request: LocalHTTPServer.Received) { received.withLock { requests.append(request) } }
    public var all: [LocalHTTPServer.Received] { received.withLock { requests } }
}

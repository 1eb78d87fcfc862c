import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle

/// A real HTTP server on a free loopback port that answers every request with `respond(path)`,
/// for testing HTTP events and webhooks against the wire, not a mock.
public final class LocalHTTPServer: Sendable {
    public let port: Int
    private let group: ServiceGroup
    private let task: Task<Void, any Error>

    private init(port: Int, group: ServiceGroup, task: Task<Void, any Error>) {
        self.port = port
        self.group = group
        self.task = task
    }

    public static func start(_ respond: @escaping @Sendable (String) -> (Int, String)) async throws -> LocalHTTPServer {
        let router = Router()
        router.on("**", method: .get) { request, _ in try await Self.answer(request, respond) }
        router.on("**", method: .post) { request, _ in try await Self.answer(request, respond) }
        let (portStream, portContinuation) = AsyncStream<Int>.makeStream()
        var logger = Logger(label: "test-http")
        logger.logLevel = .warning
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in portContinuation.yield(channel.localAddress?.port ?? 0) }, logger: logger)
        let group = ServiceGroup(configuration: .init(services: [app], logger: logger))
        let task = Task { try await group.run() }
        var iterator = portStream.makeAsyncIterator()
        guard let port = await iterator.next() else { throw CancellationError() }
        return LocalHTTPServer(port: port, group: group, task: task)
    }

    private static func answer(_ request: Request, _ respond: (String) -> (Int, String)) async throws -> Response {
        let (status, body) = respond(request.uri.path)
        return Response(status: .init(code: status), body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    public func stop() {
        let group = self.group
        Task { await group.triggerGracefulShutdown() }
    }
}

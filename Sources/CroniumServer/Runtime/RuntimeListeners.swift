import CroniumCore
import CroniumEngine
import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

#if canImport(Glibc)
    import Glibc
#endif

/// Gives each run its own listener for the runtime API: a unix socket that exists while the
/// run does, handed by the executor to the run's user, in a directory others may pass through
/// but not list. A
/// request that arrives on it is known to come from that run's sandbox (or container), and
/// must also carry that run's token.
struct RuntimeListeners: RuntimeGateway {
    /// Where the sockets are made; short, since a socket's path may not exceed 107 bytes.
    let directory: String
    let responder: RouterResponder<AppRequestContext>
    let tokens: RuntimeTokens
    let logger: Logger
    /// Connections one run may hold open at once (see ``ConnectionLimited``).
    static let connectionsPerRun = 16

    /// A directory for the sockets of the server whose instance name is `instance`: under
    /// `/run/cronium` for root, else under `$XDG_RUNTIME_DIR` or `/tmp`. A directory that is
    /// there already must be this user's own and no one else's to write, or it is not used.
    static func makeDirectory(instance: String) throws -> String {
        let uid = getuid()
        let base = uid == 0 ? "/run/cronium" : "\(ProcessInfo.processInfo.environment["XDG_RUNTIME_DIR"] ?? "/tmp")/cronium-\(uid)"
        let directory = "\(base)/\(instance)"
        for path in [base, directory] {
            if mkdir(path, 0o711) != 0 && errno != EEXIST {
                throw StartupError(.runtimeListener, "cannot create \(path) for the runtime sockets: \(String(cString: strerror(errno)))")
            }
            // Not followed if it is a link: a link there is refused like any other stranger's file.
            let attributes = try? FileManager.default.attributesOfItem(atPath: path)
            guard attributes?[.type] as? FileAttributeType == .typeDirectory, (attributes?[.ownerAccountID] as? NSNumber)?.uint32Value == uid,
                ((attributes?[.posixPermissions] as? NSNumber)?.intValue ?? 0o777) & 0o022 == 0
            else {
                throw StartupError(.runtimeListener, "\(path) is not a directory of this user's alone; remove it, or start the server as its owner")
            }
            chmod(path, 0o711)
        }
        // Sockets of a crashed server's runs: their listeners died with it.
        for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] where name.hasSuffix(".sock") {
            unlink("\(directory)/\(name)")
        }
        return directory
    }

    /// The listener's own logger: it says "listening" at every start and logs its cancellation
    /// (how every run's listener ends) as an error. Requests keep the server's logger.
    static func quiet(_ logger: Logger) -> Logger {
        var quiet = logger
        quiet.logLevel = .critical
        return quiet
    }

    func withEndpoint<T: Sendable>(for session: RuntimeSession, _ body: (RuntimeEndpoint) async -> T) async throws -> T {
        let id = session.executionId
        let path = "\(directory)/\(id)-\(String(UInt64.random(in: 0...UInt64.max), radix: 36)).sock"
        let token = try await tokens.token(for: session)
        let (responder, logger) = (self.responder, self.logger)
        // Says whether the listener came up (true), or failed to (the stream just ends).
        let (listening, report) = AsyncStream.makeStream(of: Bool.self)
        let http = HTTP1Channel(responder: { request, writer, channel in
            var context = AppRequestContext(source: .init(channel: channel, logger: logger))
            context.listenerExecution = id
            let response = try await responder.respond(to: request, context: context)
            try await writer.write(response: response.head, body: response.body)
        })
        let server = ConnectionLimited(http, limit: Self.connectionsPerRun).server(
            configuration: .init(address: .unixDomainSocket(path: path), serverName: "cronium"),
            onServerRunning: { _ in
                // The server's alone until the executor gives it to the run's user.
                chmod(path, 0o600)
                report.yield(true)
            },
            eventLoopGroup: MultiThreadedEventLoopGroup.singleton,
            logger: Self.quiet(logger)
        )
        defer { unlink(path) }
        // Detached: a server's graceful shutdown must not close the listener of a run that the
        // shutdown lets finish. It ends when the run does, and is awaited before this returns.
        let listener = Task.detached {
            defer { report.finish() }
            try await server.run()
        }
        var iterator = listening.makeAsyncIterator()
        guard await iterator.next() == true else {
            try await listener.value
            throw StartupError(.runtimeListener, "the listener at \(path) stopped before it started")
        }
        let result = await body(RuntimeEndpoint(socketPath: path, token: token))
        listener.cancel()
        _ = await listener.result
        return result
    }
}

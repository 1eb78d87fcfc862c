import CroniumCore
import CroniumEngine
import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOPosix

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

    /// The node's listeners: a token key from its data directory, its sockets' directory, and
    /// the runtime router.
    static func make(_ setup: EngineNode.RuntimeSetup, logger: Logger) async throws -> RuntimeListeners {
        let tokens = try await RuntimeTokens.load(dataDirectory: setup.dataDirectory)
        return RuntimeListeners(
            directory: try makeDirectory(instance: setup.instance),
            responder: buildRuntimeRouter(tokens: tokens, sessions: setup.sessions, vault: setup.vault, toolLimits: setup.toolLimits)
                .buildResponder(),
            tokens: tokens,
            logger: logger
        )
    }

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

    /// The connections' own logger: a connection cut by the run's end would be logged as an error.
    /// Requests keep the server's logger.
    static func quiet(_ logger: Logger) -> Logger {
        var quiet = logger
        quiet.logLevel = .critical
        return quiet
    }

    func withEndpoint<T: Sendable>(for session: RuntimeSession, _ body: (RuntimeEndpoint) async -> T) async throws -> T {
        let id = session.executionId
        let path = "\(directory)/\(id)-\(String(UInt64.random(in: 0...UInt64.max), radix: 36)).sock"
        let token = try await tokens.token(for: session)
        // Listening before the run starts, by plain system calls: a script's first call waits in
        // the socket's backlog until the event loop takes the socket over, beside the run's start.
        // Waiting for a server to come up instead cost every run about half a millisecond.
        let socket = try Self.listen(at: path)
        defer { unlink(path) }
        let (responder, logger) = (self.responder, self.logger)
        let http = HTTP1Channel(responder: { request, writer, channel in
            var context = AppRequestContext(source: .init(channel: channel, logger: logger))
            context.listenerExecution = id
            let response = try await responder.respond(to: request, context: context)
            try await writer.write(response: response.head, body: response.body)
        })
        // Not a child of the calling task: a server's graceful shutdown cancels tasks, and it must
        // not close the listener of a run that the shutdown lets finish. It ends when the run does,
        // closing on its own after this returned: the run's end need not wait for it, and the run's
        // session, which any request needs, is closed by then.
        let listener = Task.detached {
            await Self.serve(socket, ConnectionLimited(http, limit: Self.connectionsPerRun), logger: logger)
        }
        let result = await body(RuntimeEndpoint(socketPath: path, token: token))
        listener.cancel()
        return result
    }

    /// A unix socket at `path`, listening, for the server's user alone until the executor gives
    /// it to the run's user.
    static func listen(at path: String) throws -> Int32 {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            throw StartupError(.runtimeListener, "the runtime socket's path is too long: \(path)")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes + [0]) }
        let fd = Glibc.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw StartupError(.runtimeListener, "cannot make the runtime socket: \(String(cString: strerror(errno)))") }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0, chmod(path, 0o600) == 0, Glibc.listen(fd, 64) == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            unlink(path)
            throw StartupError(.runtimeListener, "cannot listen at \(path): \(reason)")
        }
        return fd
    }

    /// Accepts connections on `socket` (which it then owns) until the calling task is cancelled,
    /// each served by `channel` in a task of its own.
    static func serve<Channel: ServerChildChannel>(_ socket: Int32, _ channel: Channel, logger: Logger) async {
        let quiet = Self.quiet(logger)
        let server: NIOAsyncChannel<Channel.Value, Never>
        do {
            server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .childChannelOption(ChannelOptions.allowRemoteHalfClosure, value: true)
                .bind(NIOBSDSocket.Handle(socket)) { child in channel.setup(channel: child, logger: quiet) }
        } catch {
            close(socket)
            logger.error("the runtime socket could not be served", metadata: ["error": "\(error)"])
            return
        }
        await withDiscardingTaskGroup { group in
            // Ends with the run: cancelling the task ends the loop and closes the socket.
            try? await server.executeThenClose { connections in
                for try await connection in connections {
                    group.addTask { await channel.handle(value: connection, logger: quiet) }
                }
            }
        }
    }
}

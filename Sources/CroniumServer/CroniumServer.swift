import CroniumCore
import CroniumEngine
import CroniumRunnerKit
import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import HummingbirdWebSocket
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

/// The HTTP server over one ``EngineNode``: what ``buildApplication(_:onServerRunning:)`` wires.
/// It holds no store and builds no executor; the node owns those, and closes them as a service of
/// the application's service group.
public struct CroniumServer: Sendable {
    public let configuration: ServerConfiguration
    public let node: EngineNode
    public var engine: Engine { node.engine }
    /// The runs' own listeners for the runtime API.
    let runtime: RuntimeListeners
    let metrics: ServerMetrics
    let ready = ReadinessFlag()
    /// The web UI's files, hashed and compressed once.
    let web = WebUI()
    /// The certificate and key of HTTPS, when the server answers it itself.
    let tls: TLSCertificates?
    let logger: Logger

    public static let version = BuildInfo.version

    public init(configuration: ServerConfiguration, logger: Logger) async throws {
        // A port in use is found before anything is made: a first start that cannot listen must
        // not create the admin whose password it would then never show.
        try checkCanListen(host: configuration.host, port: configuration.port, option: "--port")
        if let port = configuration.metricsPort {
            try checkCanListen(host: configuration.metricsHost ?? configuration.host, port: port, option: "--metrics-port")
        }
        // The certificate is read before anything is made: a wrong one stops the start harmlessly.
        if let certificate = configuration.tlsCertificate, let key = configuration.tlsKey {
            tls = try TLSCertificates(.init(certificate: certificate, key: key))
        } else {
            tls = nil
        }
        let metrics = ServerMetrics()
        (node, runtime) = try await EngineNode.open(configuration.engine, metrics: EngineMetrics(factory: metrics.factory), logger: logger) {
            setup in try await RuntimeListeners.make(setup, logger: logger)
        }
        var configuration = configuration
        configuration.engine = node.configuration
        self.configuration = configuration
        self.metrics = metrics
        self.logger = logger
    }
}

/// The runtime API as `cronium serve` gives it to runs, for an engine built without the server's
/// node (the benchmarks).
public func runtimeGateway(_ setup: EngineNode.RuntimeSetup, logger: Logger) async throws -> any RuntimeGateway {
    try await RuntimeListeners.make(setup, logger: logger)
}

/// The HTTP application, with the engine node as the first of its services: stopped last, after
/// the listeners, it drains the runs and then closes the database.
public func buildApplication(
    _ server: CroniumServer,
    onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }
) throws -> some ApplicationProtocol {
    let router = buildRouter(server)
    let ready = server.ready
    let configuration = server.configuration
    let systemd = SystemdNotifier()
    // The watchdog last: services stop in reverse order, so it says STOPPING=1 first.
    let watchdog: [any Service] = systemd.socket == nil ? [] : [SystemdWatchdog(notifier: systemd, node: server.node, logger: server.logger)]
    let http = HTTPServerBuilder.http1WebSocketUpgrade(webSocketRouter: router, configuration: .init(ws: .init(maxFrameSize: 1 << 16)))
    let reloader: [any Service] = server.tls.map { [TLSReloader(certificates: $0, logger: server.logger)] } ?? []
    return Application(
        router: router,
        // With TLS, each handshake takes the certificate in force (``TLSCertificates``).
        server: try server.tls.map { try HTTPServerBuilder.tls(http, tlsConfiguration: $0.configuration) } ?? http,
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "cronium"),
        services: [server.node] + metricsListener(server) + reloader + watchdog,
        onServerRunning: { channel in
            ready.set()
            await onServerRunning(channel)
            systemd.send("READY=1\nSTATUS=listening on port \(channel.localAddress?.port ?? 0)\nMAINPID=\(getpid())")
        },
        logger: server.logger
    )
}

/// `--metrics-port`: `/metrics` alone, without a token, on an address of its own (for a
/// Prometheus that reaches only that port).
func metricsListener(_ server: CroniumServer) -> [any Service] {
    guard let port = server.configuration.metricsPort else { return [] }
    let router = Router()
    let (engine, metrics) = (server.engine, server.metrics)
    router.get("metrics") { _, _ in try await metrics.response(engine: engine) }
    let address = BindAddress.hostname(server.configuration.metricsHost ?? server.configuration.host, port: port)
    return [Application(router: router, configuration: .init(address: address, serverName: "cronium-metrics"), logger: server.logger)]
}

func buildRouter(_ server: CroniumServer) -> Router<AppRequestContext> {
    let router = Router(context: AppRequestContext.self)
    let engine = server.engine
    let accounts = engine.accounts
    let routes = RouteTable()
    router.addMiddleware {
        RequestMetricsMiddleware(factory: server.metrics.factory)
        WebPageFallback(web: server.web)
        ProblemMiddleware(routes: routes)
        AuthMiddleware(accounts: accounts)
    }
    HealthController(node: server.node, ready: server.ready).addRoutes(to: router)
    server.web.addRoutes(to: router)
    router.group(context: UserRequestContext.self).get("metrics") { [metrics = server.metrics] _, _ in
        try await metrics.response(engine: engine)
    }
    let api = router.group("api/v1")
    AccountController(accounts: accounts, servesHTTPS: server.tls != nil).addRoutes(to: api)
    let signedIn = api.group(context: UserRequestContext.self)
    signedIn.get("openapi.json") { _, _ in
        Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: try OpenAPIDocument.json())))
    }
    EventController(engine: engine).addRoutes(to: signedIn.group("events"))
    ExecutionController(engine: engine).addRoutes(to: signedIn.group("executions"))
    LogStreamRoute(engine: engine).addRoute(to: router)
    VariableController(engine: engine).addRoutes(to: signedIn.group("variables"))
    ServerController(engine: engine).addRoutes(to: signedIn.group("servers"))
    ToolController(engine: engine).addRoutes(to: signedIn.group("tools"))
    WorkflowController(engine: engine).addRoutes(to: signedIn.group("workflows"))
    ScheduleController(engine: engine).addRoutes(to: signedIn.group("schedules"))
    ImageController(node: server.node).addRoutes(to: signedIn.group("images"))
    SystemController(engine: engine).addRoutes(to: signedIn.group("system"))
    let hooks = HookController(engine: engine)
    hooks.addDeliveryRoute(to: api)
    hooks.addSettingsRoutes(to: signedIn.group("events")) { .event(EventID($0)) }
    hooks.addSettingsRoutes(to: signedIn.group("workflows")) { .workflow(WorkflowID($0)) }
    if let sessions = engine.runtime?.sessions {
        addRuntimeRoutes(
            to: router,
            tokens: server.runtime.tokens,
            sessions: sessions,
            vault: engine.vault,
            toolLimits: engine.configuration.toolLimits
        )
    }
    routes.load(router.routes.map { ($0.path.description, $0.method.rawValue) })
    return router
}

/// `/runtime/v1` alone, for the runs' own listeners: nothing else of the API is reachable
/// from inside a run that way.
func buildRuntimeRouter(tokens: RuntimeTokens, sessions: RuntimeSessions, vault: VariableVault, toolLimits: ToolRateLimit) -> Router<
    AppRequestContext
> {
    let router = Router(context: AppRequestContext.self)
    let routes = RouteTable()
    router.addMiddleware { ProblemMiddleware(routes: routes) }
    addRuntimeRoutes(to: router, tokens: tokens, sessions: sessions, vault: vault, toolLimits: toolLimits)
    routes.load(router.routes.map { ($0.path.description, $0.method.rawValue) })
    return router
}

func addRuntimeRoutes(
    to router: Router<AppRequestContext>,
    tokens: RuntimeTokens,
    sessions: RuntimeSessions,
    vault: VariableVault,
    toolLimits: ToolRateLimit
) {
    RuntimeController(vault: vault, sender: ToolSender(vault: vault, limits: toolLimits)).addRoutes(
        to: router.group("runtime/v1").add(middleware: RuntimeAuthMiddleware(tokens: tokens, sessions: sessions)).group(
            context: RunRequestContext.self
        )
    )
}

/// Binds `host:port` and lets it go again, or says in one line why it cannot be used. The
/// socket is bound but never listens: a client that connects meanwhile (a script waiting for
/// the restart) must not be accepted by a socket that will never answer it.
func checkCanListen(host: String, port: Int, option: String) throws {
    let address: SocketAddress
    do {
        address = try SocketAddress.makeAddressResolvingHost(host, port: port)
    } catch {
        throw StartupError(.cannotListen, "cannot listen on \(host):\(port) (\(option)): \(error)")
    }
    let fd = socket(address.protocol.rawValue, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw StartupError(.cannotListen, "cannot listen on \(host):\(port) (\(option)): \(String(cString: strerror(errno)))") }
    defer { close(fd) }
    // SO_REUSEADDR as the listener itself: connections of a server just stopped may linger in
    // TIME_WAIT on the port, which does not stop a restart (a listening socket still does).
    var one: Int32 = 1
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
    let bound = address.withSockAddr { bind(fd, $0, socklen_t($1)) }
    guard bound != 0 else { return }
    switch errno {
    case EADDRINUSE:
        throw StartupError(.cannotListen, "port \(port) on \(host) is in use; stop what listens there or choose another with \(option)")
    case EACCES:
        throw StartupError(.cannotListen, "port \(port) on \(host) needs privileges this user lacks; choose one above 1023 with \(option)")
    case let code:
        throw StartupError(.cannotListen, "cannot listen on \(host):\(port) (\(option)): \(String(cString: strerror(code)))")
    }
}

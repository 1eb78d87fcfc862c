import CroniumCore
import CroniumEngine
import CroniumExecutors
import CroniumStore
import Foundation
import Hummingbird
import HummingbirdWebSocket
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

/// The whole server: store, engine and HTTP API, built from a ``ServerConfiguration``.
public final class CroniumServer: Sendable {
    public let configuration: ServerConfiguration
    public let engine: Engine
    public let store: Database
    /// Set on the first start of an empty data directory; print it once.
    public let initialAdmin: InitialAdmin?
    /// Whether processes run sandboxed; the caller reports it once at start-up.
    public var sandboxed: Bool { isolation.sandbox != nil }
    /// What bounds local runs on this machine, and each protection in force or missing and why.
    public let isolation: Isolation
    public let protections: [Isolation.Protection]
    public let interpreters: Interpreters
    /// The Docker or Podman API that `CONTAINER` runs go through, found or not.
    public let containerEngine: ContainerEngine
    let logger: Logger
    let ready = ReadinessFlag()
    let runtimeTokens: RuntimeTokens
    let runtimeSessions = RuntimeSessions()
    /// Where runs' runtime sockets are made (``RuntimeListeners``).
    let runtimeDirectory: String
    /// Names what belongs to this server outside its data directory: cgroups, sockets, containers.
    let instanceName: String
    let metrics = ServerMetrics()
    private let lock: DataDirectoryLock

    public static let version = "0.1.0"

    public init(configuration: ServerConfiguration, logger: Logger) async throws {
        var configuration = configuration
        let data = URL(fileURLWithPath: configuration.dataDirectory).standardizedFileURL.path
        configuration.dataDirectory = data
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        self.configuration = configuration
        self.logger = logger
        // First of all: nothing in the directory is touched while another server holds it.
        lock = try DataDirectoryLock(directory: data)
        // A port in use is found before anything is made: a first start that cannot listen must
        // not create the admin whose password it would then never show.
        try Self.checkCanListen(host: configuration.host, port: configuration.port, option: "--port")
        if let port = configuration.metricsPort {
            try Self.checkCanListen(host: configuration.metricsHost ?? configuration.host, port: port, option: "--metrics-port")
        }
        var interpreters = Interpreters.resolve()
        interpreters.bash = configuration.bash ?? interpreters.bash
        interpreters.python = configuration.python ?? interpreters.python
        interpreters.node = configuration.node ?? interpreters.node
        self.interpreters = interpreters
        instanceName = Self.instanceName(dataDirectory: data)
        var options = Isolation.Options(instance: instanceName, forbiddenPaths: [data])
        options.mode = configuration.sandbox
        options.runUser = configuration.runUser
        options.runUIDs = configuration.runUIDs
        options.bwrapPath = configuration.bwrap
        // Interpreters outside /usr (a configured path such as /opt/python) must be visible too.
        options.readOnlyPaths = configuration.sandboxReadOnlyPaths + Self.installPrefixes(of: interpreters)
        options.defaultLimits = configuration.runLimits
        options.maximumLimits = configuration.maximumRunLimits
        // The boundary first: a server that may not start must not have opened its database. Bad
        // options are found at once; the sandbox probe (a bubblewrap run, about 14 ms) then goes
        // on beside the database's opening, unless the sandbox is required and its failure must
        // stop the server.
        do {
            try Isolation.validate(options)
        } catch {
            throw StartupError(.isolation, error.description)
        }
        let detection = Task.detached { try Isolation.detect(options) }
        func detected() async throws -> (Isolation, [Isolation.Protection]) {
            do { return try await detection.value } catch { throw StartupError(.isolation, "\(error)") }
        }
        let early = options.mode == .required ? try await detected() : nil
        let store = try await Database.openSQLite(path: "\(data)/cronium.sqlite", logger: logger)
        do {
            if let early { (isolation, protections) = early } else { (isolation, protections) = try await detected() }
            initialAdmin = try await Accounts(store: store, bcryptCost: configuration.bcryptCost).createAdminIfNeeded(dataDirectory: data)
        } catch {
            try? await store.shutdown()
            throw error
        }
        self.store = store
        let gateway: RuntimeListeners
        let vault: VariableVault
        let toolLimits = configuration.toolLimits
        do {
            vault = VariableVault(store: store, cipher: try await MasterKey.cipher(dataDirectory: data, store: store, logger: logger))
            runtimeTokens = try await RuntimeTokens.load(dataDirectory: data)
            runtimeDirectory = try RuntimeListeners.makeDirectory(instance: instanceName)
            gateway = RuntimeListeners(
                directory: runtimeDirectory,
                responder: Self.buildRuntimeRouter(tokens: runtimeTokens, sessions: runtimeSessions, vault: vault, toolLimits: toolLimits)
                    .buildResponder(),
                tokens: runtimeTokens,
                logger: logger
            )
        } catch {
            try? await store.shutdown()
            throw error
        }

        containerEngine = ContainerEngine.locate(option: configuration.containerSocket)
        let local = LocalProcessExecutor(configuration: .init(interpreters: interpreters, isolation: isolation, workRoot: "\(data)/work"))
        let containers = ContainerExecutor(
            configuration: .init(
                engine: containerEngine,
                workRoot: "\(data)/containers",
                instance: instanceName,
                maximumLimits: isolation.maximumLimits
            )
        )
        var engineConfiguration = Engine.Configuration(
            maxConcurrentRuns: configuration.maxConcurrentRuns,
            shutdownGracePeriod: .seconds(configuration.shutdownGraceSeconds),
            runtimeCallsPerSecond: configuration.runtimeCallsPerSecond,
            metrics: EngineMetrics(factory: metrics.factory)
        )
        engineConfiguration.defaultRunLocation = configuration.defaultRunLocation
        engineConfiguration.toolLimits = toolLimits
        engineConfiguration.bcryptCost = configuration.bcryptCost
        engineConfiguration.ssh = configuration.ssh
        engineConfiguration.runnerFiles = RemoteServers.RunnerFiles(
            binary: configuration.runnerBinary ?? Self.besideThisExecutable("cronium-runner"),
            signingKey: "\(data)/runner-signing.key"
        )
        engine = Engine(
            store: store,
            executors: .standard(local: local, container: containers),
            isolation: isolation,
            configuration: engineConfiguration,
            runtime: RuntimeAccess(sessions: runtimeSessions, gateway: gateway),
            vault: vault,
            logger: logger
        )
    }

    /// The HTTP application, with the engine as one of its services.
    public func application(onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }) -> some ApplicationProtocol {
        let router = buildRouter()
        let ready = self.ready
        return Application(
            router: router,
            server: .http1WebSocketUpgrade(webSocketRouter: router, configuration: .init(maxFrameSize: 1 << 16)),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "cronium"),
            services: engine.services + metricsListener(),
            onServerRunning: { channel in
                ready.set()
                await onServerRunning(channel)
            },
            logger: logger
        )
    }

    /// `--metrics-port`: `/metrics` alone, without a token, on an address of its own (for a
    /// Prometheus that reaches only that port).
    func metricsListener() -> [any Service] {
        guard let port = configuration.metricsPort else { return [] }
        let router = Router()
        let (engine, metrics) = (self.engine, self.metrics)
        router.get("metrics") { _, _ in try await metrics.response(engine: engine) }
        let address = BindAddress.hostname(configuration.metricsHost ?? configuration.host, port: port)
        return [Application(router: router, configuration: .init(address: address, serverName: "cronium-metrics"), logger: logger)]
    }

    /// Runs until SIGTERM or SIGINT, draining runs, then closes the database.
    public func run(onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }) async throws {
        // Closing must happen even when the caller cancelled us, so it runs in a task of its own.
        do {
            try await application(onServerRunning: onServerRunning).runService()
        } catch {
            await Task { try? await self.shutdown() }.value
            throw error
        }
        await Task { try? await self.shutdown() }.value
    }

    /// One line per protection, so an operator sees at once what bounds a run here, and one per
    /// missing interpreter.
    public func logBoundary() {
        for protection in protections {
            if protection.active {
                logger.info("\(protection.name): active — \(protection.detail)")
            } else {
                logger.warning("\(protection.name): MISSING — \(protection.detail)")
            }
        }
        for (name, path) in [("bash", interpreters.bash), ("python3", interpreters.python), ("node", interpreters.node)] where path == nil {
            logger.warning("no \(name) found: events of that type will fail until it is installed", metadata: ["interpreter": "\(name)"])
        }
    }

    /// Closes the database and lets another server use the data directory.
    public func shutdown() async throws {
        defer { lock.release() }
        try await store.shutdown()
    }

    func buildRouter() -> Router<AppRequestContext> {
        let router = Router(context: AppRequestContext.self)
        let accounts = engine.accounts
        let routes = RouteTable()
        router.addMiddleware {
            RequestMetricsMiddleware(factory: metrics.factory)
            ProblemMiddleware(routes: routes)
            AuthMiddleware(accounts: accounts)
        }
        HealthController(accounts: accounts, ready: ready, protections: protections, containerEngine: containerEngine).addRoutes(to: router)
        let engine = self.engine
        router.get("metrics") { [metrics] _, context in
            _ = try context.requireUser()
            return try await metrics.response(engine: engine)
        }
        let api = router.group("api/v1")
        api.get("openapi.json") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: try OpenAPIDocument.json())))
        }
        AccountController(accounts: accounts).addRoutes(to: api)
        EventController(engine: engine).addRoutes(to: api.group("events"))
        ExecutionController(engine: engine).addRoutes(to: api.group("executions"))
        LogStreamRoute(engine: engine).addRoute(to: router)
        VariableController(engine: engine).addRoutes(to: api.group("variables"))
        ServerController(engine: engine).addRoutes(to: api.group("servers"))
        ToolController(engine: engine).addRoutes(to: api.group("tools"))
        Self.addRuntimeRoutes(
            to: router,
            tokens: runtimeTokens,
            sessions: runtimeSessions,
            vault: engine.vault,
            toolLimits: engine.configuration.toolLimits
        )
        routes.load(router.routes.map { ($0.path.description, $0.method.rawValue) })
        return router
    }

    /// `/runtime/v1` alone, for the runs' own listeners: nothing else of the API is reachable
    /// from inside a run that way.
    static func buildRuntimeRouter(tokens: RuntimeTokens, sessions: RuntimeSessions, vault: VariableVault, toolLimits: ToolRateLimit) -> Router<
        AppRequestContext
    > {
        let router = Router(context: AppRequestContext.self)
        let routes = RouteTable()
        router.addMiddleware { ProblemMiddleware(routes: routes) }
        addRuntimeRoutes(to: router, tokens: tokens, sessions: sessions, vault: vault, toolLimits: toolLimits)
        routes.load(router.routes.map { ($0.path.description, $0.method.rawValue) })
        return router
    }

    static func addRuntimeRoutes(
        to router: Router<AppRequestContext>,
        tokens: RuntimeTokens,
        sessions: RuntimeSessions,
        vault: VariableVault,
        toolLimits: ToolRateLimit
    ) {
        RuntimeController(vault: vault, sender: ToolSender(vault: vault, policy: .forScripts, limits: toolLimits)).addRoutes(
            to: router.group("runtime/v1").add(middleware: RuntimeAuthMiddleware(tokens: tokens, sessions: sessions))
        )
    }
}

extension CroniumServer {
    /// Names this server's cgroups after its data directory (FNV-1a of the path), so that two
    /// servers on one machine never touch each other's.
    /// `name` in the directory of the running executable (for a test process, the test bundle's,
    /// which SwiftPM builds beside the products).
    static func besideThisExecutable(_ name: String) -> String {
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: executable).deletingLastPathComponent().appendingPathComponent(name).path
    }

    static func instanceName(dataDirectory: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in dataDirectory.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return "server-" + String(hash, radix: 16)
    }

    /// The installation directories of interpreters that live outside the sandbox's built-in
    /// view (`/opt/python/bin/python3` → `/opt/python`).
    static func installPrefixes(of interpreters: Interpreters) -> [String] {
        let builtIn = ["/usr/", "/bin/", "/sbin/", "/lib"]
        let paths = [interpreters.bash, interpreters.python, interpreters.node].compactMap { $0 }
        return Array(
            Set(
                paths.filter { path in !builtIn.contains { path.hasPrefix($0) } }.map {
                    URL(fileURLWithPath: $0).deletingLastPathComponent().deletingLastPathComponent().path
                }
            )
        ).sorted()
    }
}

extension CroniumServer {
    /// Binds `host:port` and lets it go again, or says in one line why it cannot be used. The
    /// socket is bound but never listens: a client that connects meanwhile (a script waiting for
    /// the restart) must not be accepted by a socket that will never answer it.
    static func checkCanListen(host: String, port: Int, option: String) throws {
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
}

import CroniumCore
import CroniumExecutors
import CroniumRunnerKit
import CroniumStore
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// One Cronium on this machine: its data directory (held against other servers), its database,
/// the run boundary found here, the executors built on it, and the engine over all of them.
/// `cronium serve` puts HTTP in front of it; nothing else of the machine is wired outside.
///
/// It is a `Service`: run in a service group, it runs the engine's services and, once they have
/// all stopped (drained or cancelled), closes the database and lets the data directory go.
public final class EngineNode: Service, Sendable {
    public let configuration: Configuration
    public let engine: Engine
    /// Set on the first start of an empty data directory; print it once.
    public let initialAdmin: InitialAdmin?
    /// Names what belongs to this node outside its data directory: cgroups, sockets, containers.
    public let instance: String
    let isolation: Isolation
    let protections: [Isolation.Protection]
    let interpreters: Interpreters
    /// The Docker or Podman API that `CONTAINER` runs go through, found or not.
    let containerEngine: ContainerEngine
    let store: Database
    private let lock: DataDirectoryLock
    private let closed = Mutex(false)
    private let logger: Logger

    /// What the node hands to whoever lets scripts call back (the HTTP server's runtime API).
    public struct RuntimeSetup: Sendable {
        public let dataDirectory: String
        public let instance: String
        public let sessions: RuntimeSessions
        public let vault: VariableVault
        public let toolLimits: ToolRateLimit

        public init(dataDirectory: String, instance: String, sessions: RuntimeSessions, vault: VariableVault, toolLimits: ToolRateLimit) {
            self.dataDirectory = dataDirectory
            self.instance = instance
            self.sessions = sessions
            self.vault = vault
            self.toolLimits = toolLimits
        }
    }

    private init(
        configuration: Configuration,
        engine: Engine,
        initialAdmin: InitialAdmin?,
        instance: String,
        boundary: (Isolation, [Isolation.Protection], Interpreters),
        containerEngine: ContainerEngine,
        store: Database,
        lock: DataDirectoryLock,
        logger: Logger
    ) {
        self.configuration = configuration
        self.engine = engine
        self.initialAdmin = initialAdmin
        self.instance = instance
        (isolation, protections, interpreters) = boundary
        self.containerEngine = containerEngine
        self.store = store
        self.lock = lock
        self.logger = logger
    }

    /// Opens the data directory and builds the node, in the order that keeps a failed start
    /// harmless: the lock first (nothing is touched while another server holds the directory),
    /// then the boundary's options (a node that may not start must not have opened its
    /// database), then the database, the first admin, the keys, the runtime gateway `runtime`
    /// makes and the engine, whose last server's unfinished runs are recorded as interrupted
    /// before anything is served. What was opened is closed again when a later step fails.
    public static func open<Gateway: RuntimeGateway>(
        _ configuration: Configuration,
        metrics: EngineMetrics = .none,
        logger: Logger,
        runtime: (RuntimeSetup) async throws -> Gateway
    ) async throws -> (EngineNode, Gateway) {
        var configuration = configuration
        let data = URL(fileURLWithPath: configuration.dataDirectory).standardizedFileURL.path
        configuration.dataDirectory = data
        do {
            try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw StartupError(.dataDirectory, "cannot create the data directory \(data): \(error.localizedDescription)")
        }
        let lock = try DataDirectoryLock(directory: data)
        let instance = instanceName(dataDirectory: data)
        let interpreters = configuration.resolvedInterpreters()
        let options = configuration.isolationOptions(instance: instance, interpreters: interpreters)
        do {
            try Isolation.validate(options)
        } catch {
            lock.release()
            throw StartupError(.isolation, error.description)
        }
        // The sandbox probe (a bubblewrap run, about 14 ms) goes on beside the database's opening,
        // unless the sandbox is required and its failure must stop the node first.
        let detection = Task.detached { try Isolation.detect(options) }
        func detected() async throws -> (Isolation, [Isolation.Protection]) {
            do { return try await detection.value } catch { throw StartupError(.isolation, "\(error)") }
        }
        let store: Database
        do {
            let early = options.mode == .required ? try await detected() : nil
            try prepareUpgrade(DatabaseFile(path: "\(data)/cronium.sqlite"), dataDirectory: data, logger: logger)
            store = try await Database.openSQLite(path: "\(data)/cronium.sqlite", writtenBy: BuildInfo.version, logger: logger)
            do {
                let (isolation, protections) = if let early { early } else { try await detected() }
                let initialAdmin = try await Accounts(store: store, bcryptCost: configuration.bcryptCost).createAdminIfNeeded(dataDirectory: data)
                let vault = VariableVault(store: store, cipher: try await MasterKey.cipher(dataDirectory: data, store: store, logger: logger))
                let sessions = RuntimeSessions()
                let gateway = try await runtime(
                    RuntimeSetup(dataDirectory: data, instance: instance, sessions: sessions, vault: vault, toolLimits: configuration.toolLimits)
                )
                let containerEngine = ContainerEngine.locate(option: configuration.containerSocket)
                let engine = Engine(
                    store: store,
                    executors: .standard(
                        local: LocalProcessExecutor(configuration: .init(interpreters: interpreters, isolation: isolation, workRoot: "\(data)/work")),
                        container: ContainerExecutor(
                            configuration: .init(
                                engine: containerEngine,
                                workRoot: "\(data)/containers",
                                instance: instance,
                                maximumLimits: isolation.maximumLimits
                            )
                        )
                    ),
                    isolation: isolation,
                    configuration: configuration.engineConfiguration(metrics: metrics),
                    runtime: RuntimeAccess(sessions: sessions, gateway: gateway),
                    vault: vault,
                    logger: logger
                )
                try await engine.recoverInterruptedRuns()
                let node = EngineNode(
                    configuration: configuration,
                    engine: engine,
                    initialAdmin: initialAdmin,
                    instance: instance,
                    boundary: (isolation, protections, interpreters),
                    containerEngine: containerEngine,
                    store: store,
                    lock: lock,
                    logger: logger
                )
                return (node, gateway)
            } catch {
                try? await store.shutdown()
                throw error
            }
        } catch {
            lock.release()
            throw error
        }
    }

    /// Before the database is opened (which migrates it): refuses one that a newer release has
    /// migrated further, naming that release, and backs up one that is about to be migrated, so
    /// that an upgrade can be undone (`cronium restore` of `backups/before-schema-N-….cronium-backup`
    /// with the release before).
    static func prepareUpgrade(_ database: DatabaseFile, dataDirectory: String, logger: Logger) throws {
        guard database.exists else { return }
        let schema: DatabaseFile.Schema
        do { schema = try database.schema() } catch {
            throw StartupError(.database, "cannot read \(database.path): \(error)")
        }
        let latest = DatabaseFile.latestSchema
        if schema.version > latest {
            throw StartupError(
                .database,
                "\(database.path) is at schema \(schema.version), written by Cronium \(schema.writtenBy ?? "newer than 0.1.0"); this Cronium \(BuildInfo.version) knows schema up to \(latest): run Cronium \(schema.writtenBy ?? "of that release") or newer"
            )
        }
        guard schema.version > 0, schema.version < latest else { return }
        let directory = "\(dataDirectory)/backups"
        let stamp = Date().formatted(
            .iso8601.year().month().day().dateSeparator(.omitted).time(includingFractionalSeconds: false).timeSeparator(.omitted)
        )
        let file = "\(directory)/before-schema-\(latest)-\(stamp).\(Backup.fileExtension)"
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            try Backup.create(of: database, to: file, version: schema.writtenBy ?? "before 0.1.0")
        } catch {
            throw StartupError(.database, "cannot back up the database before upgrading it from schema \(schema.version) to \(latest): \(error)")
        }
        logger.notice(
            "backed up the database before upgrading its schema",
            metadata: ["backup": "\(file)", "db.schema.from": "\(schema.version)", "db.schema.to": "\(latest)"]
        )
    }

    /// Runs the engine's services until a graceful shutdown (they stop in reverse order: the
    /// scheduler first, the log hub last) or cancellation, then closes the database.
    public func run() async throws {
        let services = ServiceGroup(configuration: .init(services: engine.services.map { .init(service: $0) }, logger: logger))
        do {
            try await services.run()
        } catch {
            await close()
            throw error
        }
        await close()
    }

    /// Closes the database and lets another server use the data directory; for a node that was
    /// never run (``run()`` closes it itself). Closing twice does nothing.
    public func close() async {
        guard
            closed.withLock({ wasClosed in
                defer { wasClosed = true }; return !wasClosed
            })
        else { return }
        defer { lock.release() }
        do { try await store.shutdown() } catch { logger.error("closing the database failed: \(error)") }
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

    /// Whether runs are sandboxed here.
    public var sandboxed: Bool { isolation.sandbox != nil }

    /// Names a node's cgroups, sockets and containers after its data directory (FNV-1a of the
    /// path), so that two servers on one machine never touch each other's.
    public static func instanceName(dataDirectory: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in dataDirectory.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return "server-" + String(hash, radix: 16)
    }
}

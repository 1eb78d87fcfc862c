import CroniumCore
import CroniumEngine
import CroniumExecutors
import CroniumStore
import Foundation
import Logging
import ServiceLifecycle

/// A real engine on a real SQLite file in a temporary directory, with the local executor
/// (sandboxed when bubblewrap works here) and the HTTP executor.
public final class EngineHarness: Sendable {
    public let directory: TemporaryDirectory
    public let store: Database
    public let engine: Engine
    public let owner: User
    /// The clock the engine reads: a test steps it when it passed a ``ManualClock``.
    public let clock: any EngineClock
    private let group: ServiceGroup
    private let task: Task<Void, any Error>

    /// Starts an engine; pass `directory` to restart on the data of a previous harness.
    /// `executors` may add to (or replace) the standard local and HTTP executors.
    public init(
        clock: any EngineClock = SystemClock(),
        configuration: Engine.Configuration = .forTests,
        directory: TemporaryDirectory? = nil,
        executors: (inout ExecutorRegistry) -> Void = { _ in }
    ) async throws {
        var logger = Logger(label: "cronium.test")
        logger.logLevel = .warning
        let directory = try directory ?? TemporaryDirectory("engine")
        self.directory = directory
        self.clock = clock
        store = try await Database.openSQLite(path: directory.appending("cronium.sqlite"), logger: logger)
        if let existing = try await store.user(username: "owner") {
            owner = existing.user
        } else {
            owner = try await store.insertUser(username: "owner", passwordHash: "-", role: .admin, now: Date())
        }
        let isolation = try Isolation.forTests(directory: directory)
        var registry = ExecutorRegistry.standard(
            local: LocalProcessExecutor(
                configuration: .init(
                    interpreters: .resolve(),
                    isolation: isolation,
                    workRoot: directory.appending("work")
                )
            )
        )
        executors(&registry)
        engine = Engine(store: store, executors: registry, isolation: isolation, clock: clock, configuration: configuration, logger: logger)
        group = ServiceGroup(configuration: .init(services: engine.services, logger: logger))
        let group = self.group
        task = Task { try await group.run() }
    }

    /// Creates an event owned by the harness's user and tells the scheduler.
    public func createEvent(_ configure: (inout EventInput) -> Void) async throws -> Event {
        var input = EventInput()
        input.name = "test event"
        input.type = .bash
        input.content = "true"
        configure(&input)
        return try await engine.createEvent(input, by: owner)
    }

    /// Waits until the execution has ended and returns it.
    public func finished(_ executionId: ExecutionID, timeout: Duration = .seconds(20)) async throws -> Execution {
        var result: Execution?
        _ = try await eventually(timeout: timeout) {
            result = try await self.store.execution(id: executionId)
            return result?.status.isFinal == true
        }
        guard let result, result.status.isFinal else { throw HarnessError("execution \(executionId) did not finish in time") }
        return result
    }

    /// Graceful shutdown, as on SIGTERM; the data directory stays for a restart.
    public func stop() async throws {
        await group.triggerGracefulShutdown()
        try await task.value
        try await store.shutdown()
    }
}

extension Isolation {
    /// What a server on `directory` would build on this machine (sandbox `mode` aside).
    public static func forTests(directory: TemporaryDirectory, mode: Mode = .auto, configure: (inout Options) -> Void = { _ in }) throws -> Isolation
    {
        var options = Options(instance: "test-\(directory.path.split(separator: "/").last ?? "")", forbiddenPaths: [directory.path])
        options.mode = mode
        configure(&options)
        return try detect(options).0
    }
}

public struct HarnessError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

extension Engine.Configuration {
    /// Short waits, so stopping tests stays fast: 2 s for runs at shutdown, 0.5 s between TERM and KILL.
    public static var forTests: Engine.Configuration {
        var configuration = Engine.Configuration(shutdownGracePeriod: .seconds(2))
        configuration.killGracePeriod = .milliseconds(500)
        return configuration
    }
}

import CroniumCore
import CroniumEngine
import CroniumExecutors
import CroniumStore
import Foundation
import Logging
import ServiceLifecycle

/// A real engine on a real SQLite file in a temporary directory, with the local executor
/// (sandboxed when bubblewrap works here) and the HTTP executor. Made and run by
/// ``withEngine(clock:configuration:directory:executors:_:)``, which stops it however the test ends.
public struct EngineHarness: Sendable {
    public let directory: TemporaryDirectory
    public let store: Database
    public let engine: Engine
    public let owner: User
    /// The clock the engine reads: a test steps it when it passed a ``ManualClock``.
    public let clock: any EngineClock

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
}

/// Runs `body` with a real engine whose services run meanwhile (``EngineHarness``); then stops it
/// gracefully, as on SIGTERM, and closes its store, whether `body` returned or threw. Pass
/// `directory` to start on the data of an earlier engine (it is then the caller's to remove);
/// otherwise a fresh one is made and removed. `executors` may add to (or replace) the standard
/// local and HTTP executors.
public func withEngine<T: Sendable>(
    clock: any EngineClock = SystemClock(),
    configuration: Engine.Configuration = .forTests,
    directory given: TemporaryDirectory? = nil,
    executors: (inout ExecutorRegistry) -> Void = { _ in },
    _ body: (EngineHarness) async throws -> T
) async throws -> T {
    var logger = Logger(label: "cronium.test")
    logger.logLevel = .warning
    let directory = try given ?? TemporaryDirectory("engine")
    defer { if given == nil { directory.remove() } }
    let store = try await Database.openSQLite(path: directory.appending("cronium.sqlite"), logger: logger)
    let result: Result<T, any Error>
    do {
        let owner: User
        if let existing = try await store.user(username: "owner") {
            owner = existing.user
        } else {
            owner = try await store.insertUser(username: "owner", passwordHash: "-", role: .admin, now: Date())
        }
        let isolation = try Isolation.forTests(directory: directory)
        var registry = ExecutorRegistry.standard(
            local: LocalProcessExecutor(configuration: .init(interpreters: .resolve(), isolation: isolation, workRoot: directory.appending("work")))
        )
        executors(&registry)
        let engine = Engine(store: store, executors: registry, isolation: isolation, clock: clock, configuration: configuration, logger: logger)
        try await engine.recoverInterruptedRuns()
        let harness = EngineHarness(directory: directory, store: store, engine: engine, owner: owner, clock: clock)
        let services = ServiceGroup(configuration: .init(services: engine.services, logger: logger))
        result = try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await services.run() }
            let result: Result<T, any Error>
            do { result = .success(try await body(harness)) } catch { result = .failure(error) }
            await services.triggerGracefulShutdown()
            try await group.waitForAll()
            return result
        }
    } catch {
        result = .failure(error)
    }
    try await store.shutdown()
    return try result.get()
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

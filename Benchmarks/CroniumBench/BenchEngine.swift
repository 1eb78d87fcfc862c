import CoreMetrics
import CroniumCore
import CroniumEngine
import CroniumExecutors
import CroniumServer
import CroniumStore
import Foundation
import Logging
import Prometheus
import ServiceLifecycle
import Synchronization

/// An active bash event as the benchmarks create them, scheduled when `schedule` is given.
func benchEventInput(name: String, script: String, schedule: Schedule? = nil) -> EventInput {
    var input = EventInput()
    input.name = name
    input.type = .bash
    input.content = script
    input.status = .active
    if let schedule {
        input.triggerType = .schedule
        input.schedule = schedule
    }
    return input
}

/// Errors only: the benchmarks print their own progress.
func quietLogger() -> Logger {
    var logger = Logger(label: "cronium.bench")
    logger.logLevel = .error
    return logger
}

/// Sees each run from inside the engine without touching the database: the first stdout line a
/// run printed and the moment its executor returned. Polling the store instead would compete with
/// the engine for the single SQLite connection and disturb what is measured.
///
/// Waiting is woken by the runs themselves, not by polling: a poller on a two-core machine takes
/// CPU from the very processes being timed.
final class RunObserver: Sendable {
    private struct State {
        var firstLines: [ExecutionID: String] = [:]
        var completed: Set<ExecutionID> = []
        /// Who waits for a run, or for a number of completed runs.
        var runWaiters: [ExecutionID: [CheckedContinuation<Void, Never>]] = [:]
        var countWaiters: [(count: Int, continuation: CheckedContinuation<Void, Never>)] = []
    }
    private let state = Mutex(State())

    func sawLine(_ executionId: ExecutionID, _ text: String) {
        state.withLock { state in
            if state.firstLines[executionId] == nil { state.firstLines[executionId] = text }
        }
    }

    func completed(_ executionId: ExecutionID) {
        let ready = state.withLock { state in
            state.completed.insert(executionId)
            var ready = state.runWaiters.removeValue(forKey: executionId) ?? []
            let count = state.completed.count
            ready += state.countWaiters.filter { $0.count <= count }.map(\.continuation)
            state.countWaiters.removeAll { $0.count <= count }
            return ready
        }
        for continuation in ready { continuation.resume() }
    }

    /// Returns once the run's executor has returned.
    func waitForCompletion(of executionId: ExecutionID) async {
        await withCheckedContinuation { continuation in
            let done = state.withLock { state in
                if state.completed.contains(executionId) { return true }
                state.runWaiters[executionId, default: []].append(continuation)
                return false
            }
            if done { continuation.resume() }
        }
    }

    /// Returns once `count` runs in all have completed.
    func waitForCompleted(_ count: Int) async {
        await withCheckedContinuation { continuation in
            let done = state.withLock { state in
                if state.completed.count >= count { return true }
                state.countWaiters.append((count, continuation))
                return false
            }
            if done { continuation.resume() }
        }
    }

    var completedCount: Int { state.withLock { $0.completed.count } }

    func firstLine(_ executionId: ExecutionID) -> String? { state.withLock { $0.firstLines[executionId] } }

    func isCompleted(_ executionId: ExecutionID) -> Bool { state.withLock { $0.completed.contains(executionId) } }
}

/// The real local executor, reporting to a ``RunObserver``.
struct ObservedExecutor: Executor {
    let inner: LocalProcessExecutor
    let observer: RunObserver

    func prepare(_ context: ExecutionContext, output: RunOutput) async throws(ExecutionError) -> any PreparedRun {
        ObservedRun(inner: try await inner.prepare(context, output: output), id: context.executionId, observer: observer)
    }

    struct ObservedRun: PreparedRun {
        let inner: any PreparedRun
        let id: ExecutionID
        let observer: RunObserver

        func run(output: RunOutput, stops: StopRequests) async -> ExecutionOutcome {
            let (id, observer) = (self.id, self.observer)
            let outcome = await inner.run(
                output: RunOutput { stream, lines in
                    if stream == .stdout, let first = lines.first { observer.sawLine(id, first) }
                    await output(stream, lines: lines)
                },
                stops: stops
            )
            observer.completed(id)
            return outcome
        }

        func teardown() async { await inner.teardown() }
    }
}

/// A whole engine on a fresh SQLite file, as `cronium serve` builds it, minus HTTP.
final class BenchEngine: Sendable {
    let directory: String
    let store: Database
    let engine: Engine
    let observer = RunObserver()
    let isolation: Isolation
    let local: LocalProcessExecutor
    let owner: User
    private let group: ServiceGroup
    private let task: Task<Void, any Error>

    /// `metrics`: count into a Prometheus registry, as `cronium serve` does, to show what counting
    /// costs; `factory`: count into this one instead. `before` fills the store before the engine
    /// starts (and loads its schedules); `configure` changes the engine's configuration.
    init(
        sandboxed: Bool,
        maxConcurrentRuns: Int,
        metrics: Bool = false,
        factory: (any MetricsFactory)? = nil,
        before: (Database, User) async throws -> Void = { _, _ in },
        configure: (inout Engine.Configuration) -> Void = { _ in }
    ) async throws {
        let logger = quietLogger()
        directory = NSTemporaryDirectory() + "cronium-bench-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        store = try await Database.openSQLite(path: "\(directory)/cronium.sqlite", logger: logger)
        owner = try await store.insertUser(username: "bench", passwordHash: "-", role: .admin, now: Date())
        try await before(store, owner)
        var options = Isolation.Options(instance: "bench-\(directory.split(separator: "/").last ?? "")", forbiddenPaths: [directory])
        options.mode = sandboxed ? .auto : .off
        isolation = try Isolation.detect(options).0
        local = LocalProcessExecutor(configuration: .init(interpreters: .resolve(), isolation: isolation, workRoot: "\(directory)/work"))
        var executors = ExecutorRegistry()
        executors.register(ObservedExecutor(inner: local, observer: observer), at: .local, for: [.bash, .python])
        let counting =
            factory.map { EngineMetrics(factory: $0) }
            ?? (metrics ? EngineMetrics(factory: PrometheusMetricsFactory(registry: PrometheusCollectorRegistry())) : .none)
        var configuration = Engine.Configuration(maxConcurrentRuns: maxConcurrentRuns, metrics: counting)
        configure(&configuration)
        // Every run gets its runtime API as a server's runs do (a listener and a token each), and
        // its scripts the helpers.
        let vault = VariableVault(store: store, cipher: .withNewKey())
        let sessions = RuntimeSessions()
        let setup = EngineNode.RuntimeSetup(
            dataDirectory: directory,
            instance: options.instance,
            sessions: sessions,
            vault: vault,
            toolLimits: configuration.toolLimits
        )
        engine = Engine(
            store: store,
            executors: executors,
            configuration: configuration,
            runtime: RuntimeAccess(sessions: sessions, gateway: try await runtimeGateway(setup, logger: logger)),
            vault: vault,
            logger: logger
        )
        let group = ServiceGroup(configuration: .init(services: engine.services, logger: logger))
        self.group = group
        task = Task { try await group.run() }
    }

    func createBashEvent(_ script: String, type: EventType = .bash) async throws -> Event {
        var input = benchEventInput(name: "bench", script: script)
        input.type = type
        return try await engine.createEvent(input, by: owner)
    }

    /// Waits, without touching the store, until the run's executor returned and the engine has
    /// recorded its end (the run has left the engine's running set).
    func waitUntilIdle(after executionId: ExecutionID) async throws {
        await observer.waitForCompletion(of: executionId)
        try await waitForRecordedEnds()
    }

    /// Once the runs' executors have returned: until the engine has recorded their ends (a short
    /// tail, so polling it disturbs little).
    func waitForRecordedEnds() async throws {
        while engine.runningCount > 0 { try await Task.sleep(for: .microseconds(100)) }
    }

    func stop() async throws {
        await group.triggerGracefulShutdown()
        try await task.value
        try await store.shutdown()
        try? FileManager.default.removeItem(atPath: directory)
    }
}

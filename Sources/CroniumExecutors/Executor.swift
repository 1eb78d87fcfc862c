import CroniumCore
import Foundation

/// Everything known about one run before it starts, built once by the engine and handed to the
/// executor its placement picked.
public struct ExecutionContext: Sendable {
    public var executionId: ExecutionID
    public var event: Event
    /// 1 for the first try, then one more for each retry.
    public var attempt: Int
    public var trigger: ExecutionTrigger
    /// What the trigger passed to the run (JSON text: a webhook body, a workflow step's output);
    /// nil when it passed nothing.
    public var input: String?
    /// The complete environment of the run: the event's variables plus `CRONIUM_*`. Nothing else
    /// is inherited from the server.
    public var environment: [String: String]
    /// When the engine stops the run: its start plus the event's timeout. The engine moves it by
    /// the time ``Executor/prepare(_:output:)`` took, so preparing does not eat into the run's time.
    public var deadline: ContinuousClock.Instant
    /// Where the script's runtime helpers reach Cronium, and the token scoped to this run.
    public var runtime: RuntimeEndpoint?
    /// The image of a `CONTAINER` run.
    public var image: String?
    /// The server of a `REMOTE` run (one run per server: the engine fans an event out).
    public var remote: RemotePlacement?

    public init(
        executionId: ExecutionID,
        event: Event,
        attempt: Int = 1,
        trigger: ExecutionTrigger = .manual,
        input: String? = nil,
        environment: [String: String],
        deadline: ContinuousClock.Instant,
        runtime: RuntimeEndpoint? = nil,
        image: String? = nil,
        remote: RemotePlacement? = nil
    ) {
        self.executionId = executionId
        self.event = event
        self.attempt = attempt
        self.trigger = trigger
        self.input = input
        self.environment = environment
        self.deadline = deadline
        self.runtime = runtime
        self.image = image
        self.remote = remote
    }
}

/// Receives what a run writes, line by line, as it is written. Lines come in the chunks they were
/// read in, so a chatty script costs one call (and one lock in the log hub) per chunk, not per line.
public struct RunOutput: Sendable {
    private let sink: @Sendable (LogStream, [String]) async -> Void

    public init(_ sink: @escaping @Sendable (LogStream, [String]) async -> Void) { self.sink = sink }

    /// One line.
    public func callAsFunction(_ stream: LogStream, _ line: String) async { await sink(stream, [line]) }

    /// The lines of one chunk, in order.
    public func callAsFunction(_ stream: LogStream, lines: [String]) async {
        if !lines.isEmpty { await sink(stream, lines) }
    }
}

/// Runs one placement's executions. The engine calls ``prepare(_:output:)``, then the prepared
/// run's ``PreparedRun/run(output:stops:)``, then always ``PreparedRun/teardown()``; deadlines,
/// cancels and the grace period are the engine's (`RunSupervisor`), which asks the run to stop.
public protocol Executor: Sendable {
    /// Sets up what the run needs before anything starts: a work directory, a sandbox, limits, a
    /// container, a remote directory. Throws ``ExecutionError`` (`START_FAILED`) when it cannot.
    func prepare(_ context: ExecutionContext, output: RunOutput) async throws(ExecutionError) -> any PreparedRun
    /// Removes what runs that a crash interrupted left behind (directories, groups, containers).
    /// Called once at start-up, before the first run.
    func removeLeftovers() async
    /// Releases what the executor keeps between runs (idle cgroups). Called once when the node
    /// stops, after its last run ended.
    func shutDown() async
}

extension Executor {
    public func removeLeftovers() async {}
    public func shutDown() async {}
}

/// What the engine asks of a run it stops: `terminate` first (SIGTERM: the script may clean up),
/// then `kill` once the grace period is over. Each comes at most once, in that order.
public enum StopRequest: Sendable, Equatable {
    case terminate
    case kill
}

/// One run's stop requests, as the engine sends them.
public typealias StopRequests = AsyncStream<StopRequest>

/// A run that is ready to start.
public protocol PreparedRun: Sendable {
    /// Starts the run and streams its output until it ends. `stops` is the only way the run is
    /// stopped: it acts on each request (a signal, a container kill, a frame to the runner) and
    /// still reads its output until the run has ended; the engine then decides the status. The
    /// calling task is never cancelled. Never throws: a failure is an outcome with a reason.
    func run(output: RunOutput, stops: StopRequests) async -> ExecutionOutcome
    /// Removes what ``Executor/prepare(_:output:)`` made. Called exactly once, however the run ended.
    func teardown() async
}

extension AsyncStream where Element == StopRequest {
    /// No stop request will come: for a run nothing stops (a benchmark's).
    public static var none: StopRequests { AsyncStream { $0.finish() } }

    /// Runs `body` until it returns, cancelling it at the first stop request: for runs that have
    /// nothing to end gracefully (an HTTP request, a message).
    public func cancelling<T: Sendable>(_ body: @escaping @Sendable () async -> T) async -> T {
        await withTaskGroup(of: Arm<T>.self) { group in
            group.addTask { .done(await body()) }
            group.addTask {
                for await _ in self { return .stopRequested }
                return .noStop
            }
            while let arm = await group.next() {
                switch arm {
                case .done(let value):
                    group.cancelAll()
                    return value
                case .stopRequested: group.cancelAll()
                case .noStop: break
                }
            }
            preconditionFailure("the body's task always reports")
        }
    }
}

private enum Arm<T: Sendable>: Sendable {
    case done(T)
    case stopRequested
    case noStop
}

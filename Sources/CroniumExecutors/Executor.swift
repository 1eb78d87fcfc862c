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
/// run's ``PreparedRun/run(output:)``, then always ``PreparedRun/teardown()``; deadlines and
/// cancels are the engine's: it cancels the task that awaits `run`.
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

/// A run that is ready to start.
public protocol PreparedRun: Sendable {
    /// Starts the run and streams its output until it ends. When the calling task is cancelled it
    /// stops the run (processes get SIGTERM, then SIGKILL after a grace period) and returns what it
    /// saw; the engine then decides the status. Never throws: a failure is an outcome with a reason.
    func run(output: RunOutput) async -> ExecutionOutcome
    /// Removes what ``Executor/prepare(_:output:)`` made. Called exactly once, however the run ended.
    func teardown() async
}

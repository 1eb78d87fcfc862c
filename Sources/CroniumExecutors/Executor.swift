import CroniumCore

/// Everything an executor needs for one run, resolved by the engine beforehand.
public struct ExecutionRequest: Sendable {
    public var executionId: Int64
    public var event: Event
    /// The complete environment of the run: the event's variables plus `CRONIUM_*`. Nothing else
    /// is inherited from the server.
    public var environment: [String: String]

    public init(executionId: Int64, event: Event, environment: [String: String]) {
        self.executionId = executionId
        self.event = event
        self.environment = environment
    }
}

/// Receives each line a run writes, as it is written.
public typealias OutputHandler = @Sendable (LogStream, String) async -> Void

/// Runs one execution to its end. Cancelling the calling task stops the run (outcome `CANCELLED`);
/// the executor enforces the event's timeout itself (outcome `TIMEOUT`). Executors never throw:
/// a failure to start is an outcome with a reason, so every run ends recorded.
public protocol Executor: Sendable {
    func execute(_ request: ExecutionRequest, output: @escaping OutputHandler) async -> ExecutionOutcome
}

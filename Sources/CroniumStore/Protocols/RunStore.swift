import CroniumCore
import Foundation

/// Runs (executions, a `REMOTE` run's parts, the actions a run fired) and their logs.
public protocol RunStore: Sendable {
    func execution(id: ExecutionID) async throws -> Execution?
    /// Newest first. `beforeId` pages backwards; `eventIds` limits to events a user may see.
    func executions(eventId: EventID?, status: ExecutionStatus?, visibleTo eventIds: [EventID]?, beforeId: ExecutionID?, limit: Int) async throws
        -> [Execution]
    /// Runs going and waiting now, and those that ended since `since`, in `count` slices of
    /// `sliceSeconds`; `eventIds` limits to events a user may see.
    func executionStats(since: Date, sliceSeconds: Int, count: Int, visibleTo eventIds: [EventID]?) async throws -> ExecutionStats
    /// The newest run of each of `eventIds` that has one (an index lookup per event).
    func latestExecutions(eventIds: [EventID]) async throws -> [EventID: Execution]
    /// Executions still marked running or pending, oldest first.
    func unfinishedExecutions(eventId: EventID) async throws -> [Execution]
    /// The runs still pending or running of each event, oldest first.
    /// Asked in slices: SQLite takes at most 32,766 bound values in one statement.
    func unfinishedExecutionIds(eventIds: [EventID]) async throws -> [EventID: [ExecutionID]]
    /// Starts the parts of `run`, one per server, in the order given: running from `time`, like
    /// the run itself (a part has no job of its own: the run's node runs it).
    func startParts(of run: Execution, servers: [String], at time: Date) async throws -> [ExecutionID]
    /// Ends the parts of `runId` that are still running, as their run ended: after a crash.
    func endParts(of runId: ExecutionID, outcome: ExecutionOutcome, at time: Date) async throws
    /// The parts of a run on several servers, in the order they were started.
    func parts(of runId: ExecutionID) async throws -> [Execution]
    /// Stores a batch of lines in one transaction, in statements of at most ``logRowsPerStatement``
    /// rows; the log hub calls this with what piled up since its last write, so a chatty script
    /// costs one write per batch, not per line.
    func appendLogLines(executionId: ExecutionID, _ lines: [LogLine]) async throws
    /// The last `count` lines (the run's system lines too), in order.
    func lastLogLines(executionId: ExecutionID, count: Int) async throws -> [LogLine]
    /// Lines after `afterSeq`, in order, at most `limit`.
    func logLines(executionId: ExecutionID, afterSeq: Int, limit: Int) async throws -> [LogLine]
    func actionFirings(of executionId: ExecutionID) async throws -> [ActionFiring]
}

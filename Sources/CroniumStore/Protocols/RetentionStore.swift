import CroniumCore
import Foundation

/// What the retention purge reads and removes. It visits rows oldest first (by id, which grows
/// with time) and decides in Swift which have outlived their limit, so the statements stay plain
/// and each removal is a short transaction of its own.
public protocol RetentionStore: Sendable {
    /// The events that have retention limits of their own.
    func retentionOverrides() async throws -> [EventID: Retention]
    /// Up to `limit` rows of `kind` with an id above `after`, in id order.
    func agedRows(_ kind: AgedRows, after: Int64, limit: Int) async throws -> [AgedRow]
    /// The ended runs of `eventId` older than its `keeping` newest runs, oldest first, at most `limit`.
    func runsBeyond(newest keeping: Int, eventId: EventID, limit: Int) async throws -> [Int64]
    /// Removes the rows with `ids` that have ended, in one transaction; returns how many went.
    /// A run goes with its parts, log, actions and messages; a workflow run with its nodes' runs;
    /// a log's lines are replaced by one system line, `note`.
    func purge(_ kind: AgedRows, ids: [Int64], note: String, at time: Date) async throws -> Int
    /// Gives up to `pages` of the file's free pages back to the file system; returns how many
    /// bytes that gave back and how many free pages are left.
    func shrink(pages: Int) async throws -> (freed: Int64, freePagesLeft: Int)
    /// How big the store is, for `/metrics` and `cronium status`: it reads every run (a fifth of
    /// a second for a million), so the engine keeps it for a minute.
    func storageFigures() async throws -> StorageFigures
}

/// The kinds of rows retention removes.
public enum AgedRows: String, Sendable, CaseIterable {
    /// Runs of events (not a `REMOTE` run's parts, nor a workflow's nodes: they go with their run).
    case runs
    /// Runs still holding their log, parts and nodes included.
    case logs
    case workflowRuns = "workflow_runs"
    /// The schedules' ledgers: one row per occurrence.
    case eventLedger = "event_ledger"
    case workflowLedger = "workflow_ledger"
}

public struct AgedRow: Sendable, Equatable {
    public let id: Int64
    /// The event (or workflow) whose limits apply.
    public let owner: Int64
    public let created: Date
    /// Nil while it has not ended: then it stays.
    public let ended: Date?

    public init(id: Int64, owner: Int64, created: Date, ended: Date?) {
        self.id = id
        self.owner = owner
        self.created = created
        self.ended = ended
    }
}

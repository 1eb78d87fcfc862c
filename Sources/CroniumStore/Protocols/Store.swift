import CroniumCore
import Foundation

/// Everything the engine keeps: one protocol per area, each small enough to implement and to
/// read alone. ``Database`` (SQLKit, on SQLite) is the first implementation of all of them.
public protocol Store: JobQueue, EventStore, RunStore, AccountStore, ToolStore, ServerStore, VariableStore, WorkflowStore, HookStore, RetentionStore {
    /// Closes the store once the transaction and the read going on (if any) are done.
    func shutdown() async throws
}

extension EventStore {
    /// Every event.
    public func events() async throws -> [Event] { try await events(ownerOrShared: nil) }
}

extension Database: Store, EventStore, RunStore, AccountStore, ToolStore, ServerStore, VariableStore {}

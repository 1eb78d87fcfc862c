import CroniumCore
import Foundation
import SQLKit

extension Database {
    /// Records what a run's end set off, and queues the runs and the messages it asked for, in
    /// one transaction: a crash leaves all or none. (The engine records a run's actions through
    /// its queue's transaction, which may begin workflow runs too; this is that step alone.)
    public func recordActions(
        of executionId: ExecutionID,
        firings: [ActionFiring],
        runs: [(position: Int, request: EnqueueRequest)],
        deliveries: [Delivery] = [],
        now: Date
    ) async throws -> [ActionFiring] {
        try await withQueueTransaction { tx in
            try await tx.recordActions(of: executionId, firings: firings, runs: runs, deliveries: deliveries, now: now)
        }
    }

    static func recordActions(
        of executionId: ExecutionID,
        firings: [ActionFiring],
        runs: [(position: Int, request: EnqueueRequest)],
        deliveries: [Delivery],
        now: Date,
        in sql: any SQLDatabase
    ) async throws -> [ActionFiring] {
        for delivery in deliveries { try await insert(delivery, in: sql) }
        var recorded = firings
        let ids = try await enqueue(runs.map(\.request), now: now, in: sql)
        for ((position, _), id) in zip(runs, ids) {
            if let index = recorded.firstIndex(where: { $0.position == position }) { recorded[index].executionId = id }
        }
        for firing in recorded {
            try await sql.raw(
                """
                INSERT INTO action_firings (execution_id, position, run_when, type, target_event_id, target_execution_id,
                  target_workflow_id, target_workflow_run_id, status, error, fired_at)
                VALUES (\(bind: executionId), \(bind: firing.position), \(bind: firing.when.rawValue), \(bind: firing.type.rawValue),
                  \(bind: firing.targetEventId), \(bind: firing.executionId), \(bind: firing.targetWorkflowId), \(bind: firing.workflowRunId),
                  \(bind: firing.status.rawValue), \(bind: firing.error), \(bind: firing.firedAt.millis))
                """
            ).run()
        }
        return recorded
    }

    public func actionFirings(of executionId: ExecutionID) async throws -> [ActionFiring] {
        try await read { sql in
            try await sql.raw("SELECT * FROM action_firings WHERE execution_id = \(bind: executionId) ORDER BY id").all().map { row in
                ActionFiring(
                    position: try row.decode(column: "position", as: Int.self),
                    when: try row.decode(column: "run_when", as: ActionCondition.self),
                    type: try row.decode(column: "type", as: ActionType.self),
                    targetEventId: try row.decode(column: "target_event_id", as: EventID?.self),
                    executionId: try row.decode(column: "target_execution_id", as: ExecutionID?.self),
                    targetWorkflowId: try row.decode(column: "target_workflow_id", as: WorkflowID?.self),
                    workflowRunId: try row.decode(column: "target_workflow_run_id", as: WorkflowRunID?.self),
                    status: try row.decode(column: "status", as: ActionFiringStatus.self),
                    error: try row.decode(column: "error", as: String?.self),
                    firedAt: Date(millis: try row.decode(column: "fired_at", as: Int64.self))
                )
            }
        }
    }
}

import CroniumCore
import Foundation
import SQLKit

extension Database: WorkflowStore {
    public func saveWorkflow(_ workflow: Workflow) async throws -> Workflow {
        // Times to the millisecond, as they are stored and read back.
        var workflow = workflow
        (workflow.createdAt, workflow.updatedAt) = (Date(millis: workflow.createdAt.millis), Date(millis: workflow.updatedAt.millis))
        let data = try Self.json(workflow)
        return try await transaction { [workflow] sql in
            if try await sql.raw(
                "SELECT id FROM workflows WHERE owner_id = \(bind: workflow.ownerId) AND name = \(bind: workflow.name) AND id <> \(bind: workflow.id)"
            ).first() != nil {
                throw CroniumError(.conflict, "you already have a workflow named \(workflow.name)")
            }
            var saved = workflow
            if workflow.id.rawValue == 0 {
                saved.id = try await sql.raw(
                    """
                    INSERT INTO workflows (owner_id, name, status, trigger_type, data, created_at, updated_at)
                    VALUES (\(bind: workflow.ownerId), \(bind: workflow.name), \(bind: workflow.status.rawValue),
                      \(bind: workflow.trigger.rawValue), \(bind: data), \(bind: workflow.createdAt.millis), \(bind: workflow.updatedAt.millis))
                    RETURNING id
                    """
                ).first(decodingColumn: "id", as: WorkflowID.self).required("the new workflow's id")
            } else {
                guard
                    try await sql.raw(
                        """
                        UPDATE workflows SET name = \(bind: workflow.name), status = \(bind: workflow.status.rawValue),
                          trigger_type = \(bind: workflow.trigger.rawValue), data = \(bind: data), updated_at = \(bind: workflow.updatedAt.millis)
                        WHERE id = \(bind: workflow.id) RETURNING id
                        """
                    ).first() != nil
                else { throw CroniumError.notFound("workflow \(workflow.id)") }
            }
            return saved
        }
    }

    public func workflow(id: WorkflowID) async throws -> Workflow? {
        try await read { sql in try await sql.raw("SELECT * FROM workflows WHERE id = \(bind: id)").first().map(Self.decodeWorkflow) }
    }

    public func workflows(ownerId: UserID?) async throws -> [Workflow] {
        try await read { sql in
            try await sql.raw(
                "SELECT * FROM workflows WHERE \(bind: ownerId == nil) OR owner_id = \(bind: ownerId ?? UserID(0)) ORDER BY name, id"
            ).all().map(Self.decodeWorkflow)
        }
    }

    public func deleteWorkflow(id: WorkflowID) async throws -> Bool {
        try await transaction { sql in try await sql.raw("DELETE FROM workflows WHERE id = \(bind: id) RETURNING id").first() != nil }
    }

    public func workflowRun(id: WorkflowRunID) async throws -> WorkflowRun? {
        try await read { sql in try await sql.raw("SELECT * FROM workflow_runs WHERE id = \(bind: id)").first().map { try Self.decodeWorkflowRun($0) }
        }
    }

    public func workflowRuns(workflowId: WorkflowID, limit: Int) async throws -> [WorkflowRun] {
        try await read { sql in
            try await sql.raw("SELECT * FROM workflow_runs WHERE workflow_id = \(bind: workflowId) ORDER BY id DESC LIMIT \(bind: limit)").all()
                .map { try Self.decodeWorkflowRun($0) }
        }
    }

    /// `nodes`: how the node states' JSON becomes values (a queue transaction reuses the ones it
    /// decoded or wrote last when the text is the same).
    static func decodeWorkflowRun(
        _ row: any SQLRow,
        nodes: (String) throws -> [WorkflowRunNode] = { try fromJSON([WorkflowRunNode].self, $0) }
    ) throws -> WorkflowRun {
        WorkflowRun(
            id: try row.decode(column: "id", as: WorkflowRunID.self),
            workflowId: try row.decode(column: "workflow_id", as: WorkflowID.self),
            status: try row.decode(column: "status", as: WorkflowRunStatus.self),
            trigger: try row.decode(column: "trigger", as: WorkflowTrigger.self),
            input: try row.decode(column: "input", as: String?.self).flatMap(JSONValue.init(text:)),
            triggeredBy: try row.decode(column: "triggered_by", as: UserID?.self),
            createdAt: Date(millis: try row.decode(column: "created_at", as: Int64.self)),
            finishedAt: try row.decode(column: "finished_at", as: Int64?.self).map(Date.init(millis:)),
            cancelReason: try row.decode(column: "cancel_reason", as: String?.self),
            nodes: try nodes(try row.decode(column: "nodes", as: String.self))
        )
    }

    static func decodeWorkflow(_ row: any SQLRow) throws -> Workflow {
        var workflow = try fromJSON(Workflow.self, try row.decode(column: "data", as: String.self))
        workflow.id = try row.decode(column: "id", as: WorkflowID.self)
        return workflow
    }
}

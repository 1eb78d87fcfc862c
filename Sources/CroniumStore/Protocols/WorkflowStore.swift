import CroniumCore
import Foundation

/// Workflows: their definitions, by owner.
public protocol WorkflowStore: Sendable {
    /// Stores a new workflow (id 0) or replaces one, and returns it with its id; a name its owner
    /// already uses is a `CONFLICT`.
    func saveWorkflow(_ workflow: Workflow) async throws -> Workflow
    func workflow(id: WorkflowID) async throws -> Workflow?
    /// In name order; nil: everyone's.
    func workflows(ownerId: UserID?) async throws -> [Workflow]
    /// Whether there was such a workflow.
    func deleteWorkflow(id: WorkflowID) async throws -> Bool
    func workflowRun(id: WorkflowRunID) async throws -> WorkflowRun?
    /// The newest first.
    func workflowRuns(workflowId: WorkflowID, limit: Int) async throws -> [WorkflowRun]
    /// Workflows the scheduler should plan for.
    func scheduledWorkflows() async throws -> [Workflow]
    /// A workflow's ledger, newest first; `offset` skips that many.
    func workflowLedger(workflowId: WorkflowID, limit: Int, offset: Int) async throws -> [WorkflowOccurrence]
}

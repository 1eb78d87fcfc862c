import CroniumCore
import CroniumEngine
import Foundation
import HTTPTypes
import Hummingbird

/// `/api/v1/workflows`: workflows and their runs, for their owner (and administrators).
struct WorkflowController {
    let engine: Engine

    func addRoutes(to group: RouterGroup<UserRequestContext>) {
        group.get(use: list)
        group.post(use: create)
        group.get("export", use: export)
        group.get(":id", use: show)
        group.patch(":id", use: update)
        group.delete(":id", use: delete)
        group.post(":id/run", use: run)
        group.get(":id/runs", use: runs)
        group.get(":id/runs/:run", use: showRun)
        group.post(":id/runs/:run/cancel", use: cancelRun)
        group.get(":id/ledger", use: ledger)
        group.get(":id/next", use: next)
        group.post(":id/pause", use: pause)
        group.post(":id/resume", use: resume)
    }

    struct RunResponse: ResponseEncodable {
        let runId: WorkflowRunID
    }

    /// Fields a client may send back as it got them; they are ignored.
    static let readOnlyFields: Set<String> = ["id", "ownerId", "createdAt", "updatedAt"]

    @Sendable func list(_ request: Request, context: UserRequestContext) async throws -> [Workflow] {
        try await engine.workflows(visibleTo: context.user)
    }

    /// The workflows named by `?id=` (repeatable; all the caller's without), with the events
    /// they run, as a document `POST /api/v1/events/import` makes again.
    @Sendable func export(_ request: Request, context: UserRequestContext) async throws -> EventDocument {
        let ids = try request.uri.queryParameters.getAll("id").map { text in
            guard let id = WorkflowID(String(text)) else { throw Problem(.badRequest, "id must be a workflow id (a whole number), not '\(text)'") }
            return id
        }
        var workflows = try await engine.workflows(visibleTo: context.user)
        if !ids.isEmpty {
            for id in ids where !workflows.contains(where: { $0.id == id }) { throw CroniumError.notFound("workflow \(id)") }
            workflows = workflows.filter { ids.contains($0.id) }
        }
        return try await engine.exportDocument(of: workflows)
    }

    @Sendable func create(_ request: Request, context: UserRequestContext) async throws -> EditedResponse<Workflow> {
        let input = try await request.decodeJSON(as: WorkflowInput.self, readOnly: Self.readOnlyFields)
        let workflow = try await engine.createWorkflow(input, by: context.user)
        return EditedResponse(status: .created, headers: [.location: "/api/v1/workflows/\(workflow.id)"], response: workflow)
    }

    @Sendable func show(_ request: Request, context: UserRequestContext) async throws -> Workflow {
        try await engine.workflow(id: try context.parameters.require("id", as: WorkflowID.self), visibleTo: context.user)
    }

    /// Replaces the fields sent; the result is checked as a whole.
    @Sendable func update(_ request: Request, context: UserRequestContext) async throws -> Workflow {
        let input = try await request.decodeJSON(as: WorkflowInput.self, readOnly: Self.readOnlyFields)
        return try await engine.updateWorkflow(id: try context.parameters.require("id", as: WorkflowID.self), with: input, by: context.user)
    }

    @Sendable func delete(_ request: Request, context: UserRequestContext) async throws -> HTTPResponse.Status {
        try await engine.deleteWorkflow(id: try context.parameters.require("id", as: WorkflowID.self), by: context.user)
        return .noContent
    }

    /// The body is optional: `{"input": <any JSON>}` is the roots' input.
    @Sendable func run(_ request: Request, context: UserRequestContext) async throws -> EditedResponse<RunResponse> {
        let id = try context.parameters.require("id", as: WorkflowID.self)
        let input = try await RunRequest.input(of: request).flatMap(JSONValue.init(text:))
        let runId = try await engine.runWorkflow(id: id, by: context.user, input: input)
        return EditedResponse(status: .accepted, headers: [.location: "/api/v1/workflows/\(id)/runs/\(runId)"], response: RunResponse(runId: runId))
    }

    @Sendable func runs(_ request: Request, context: UserRequestContext) async throws -> [WorkflowRun] {
        let limit = try QueryParameters(request).integer("limit", default: 50, in: 1...1000)
        return try await engine.workflowRuns(
            workflowId: try context.parameters.require("id", as: WorkflowID.self),
            visibleTo: context.user,
            limit: limit
        )
    }

    @Sendable func showRun(_ request: Request, context: UserRequestContext) async throws -> WorkflowRun {
        try await run(of: context)
    }

    @Sendable func cancelRun(_ request: Request, context: UserRequestContext) async throws -> WorkflowRun {
        try await engine.cancelWorkflowRun(id: try await run(of: context).id, by: context.user)
    }

    @Sendable func ledger(_ request: Request, context: UserRequestContext) async throws -> [WorkflowOccurrence] {
        let query = QueryParameters(request)
        let limit = try query.integer("limit", default: 100, in: 1...1000)
        let offset = try query.integer("offset", default: 0, in: 0...Int(Int32.max))
        return try await engine.workflowLedger(
            id: try context.parameters.require("id", as: WorkflowID.self),
            visibleTo: context.user,
            limit: limit,
            offset: offset
        )
    }

    @Sendable func next(_ request: Request, context: UserRequestContext) async throws -> UpcomingWorkflowFires {
        let count = try QueryParameters(request).integer("count", default: 5, in: 1...1000)
        return try await engine.upcomingFires(
            workflowId: try context.parameters.require("id", as: WorkflowID.self),
            visibleTo: context.user,
            count: count
        )
    }

    /// Status `PAUSED`: no schedule fires and no webhook starts a run; runs asked for by hand still start.
    @Sendable func pause(_ request: Request, context: UserRequestContext) async throws -> Workflow {
        try await engine.updateWorkflow(id: try context.parameters.require("id", as: WorkflowID.self), with: .init(status: .paused), by: context.user)
    }

    /// Status `ACTIVE` again.
    @Sendable func resume(_ request: Request, context: UserRequestContext) async throws -> Workflow {
        try await engine.updateWorkflow(id: try context.parameters.require("id", as: WorkflowID.self), with: .init(status: .active), by: context.user)
    }

    /// The run named in the path, which must be of the workflow named there.
    private func run(of context: UserRequestContext) async throws -> WorkflowRun {
        let id = try context.parameters.require("id", as: WorkflowID.self)
        let runId = try context.parameters.require("run", as: WorkflowRunID.self)
        let run = try await engine.workflowRun(id: runId, visibleTo: context.user)
        guard run.workflowId == id else { throw CroniumError.notFound("workflow run \(runId)") }
        return run
    }
}

extension Workflow: ResponseEncodable {}
extension WorkflowRun: ResponseEncodable {}
extension WorkflowOccurrence: ResponseEncodable {}
extension UpcomingWorkflowFires: ResponseEncodable {}

import CroniumCore
import CroniumEngine
import CroniumStore
import Foundation
import Hummingbird

/// `/api/v1/executions`: run history, cancellation and logs.
struct ExecutionController {
    let engine: Engine
    var store: Database { engine.store }

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.get(use: list)
        group.get(":id", use: show)
        group.post(":id/cancel", use: cancel)
        group.get(":id/logs", use: logs)
    }

    struct LogPage: ResponseEncodable {
        let executionId: Int64
        let lines: [LogLine]
        /// Pass as `after` to get the next page.
        let nextAfter: Int
        /// True when the run has ended and this page reaches the end of its log.
        let complete: Bool
    }

    @Sendable func list(_ request: Request, context: AppRequestContext) async throws -> [Execution] {
        let user = try context.requireUser()
        let query = request.uri.queryParameters
        var status: ExecutionStatus?
        if let raw = query.get("status") {
            guard let parsed = ExecutionStatus(rawValue: raw.uppercased()) else {
                throw Problem(.badRequest, "status must be one of \(ExecutionStatus.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            status = parsed
        }
        let visible = user.role == .admin ? nil : try await store.events(ownerOrShared: user.id).map(\.id)
        return try await store.executions(
            eventId: query.get("eventId", as: Int64.self), status: status, visibleTo: visible,
            beforeId: query.get("before", as: Int64.self), limit: min(query.get("limit", as: Int.self) ?? 50, 500))
    }

    @Sendable func show(_ request: Request, context: AppRequestContext) async throws -> Execution {
        try await visibleExecution(context).execution
    }

    @Sendable func cancel(_ request: Request, context: AppRequestContext) async throws -> Execution {
        let user = try context.requireUser()
        let (execution, event) = try await visibleExecution(context)
        guard user.canRun(event) else { throw Problem.forbidden }
        guard try await engine.cancel(executionId: execution.id, reason: "cancelled by \(user.username)") else {
            throw Problem(.conflict, "execution \(execution.id) has already ended (\(execution.status.rawValue))")
        }
        return try await store.execution(id: execution.id) ?? execution
    }

    @Sendable func logs(_ request: Request, context: AppRequestContext) async throws -> LogPage {
        let (execution, _) = try await visibleExecution(context)
        let after = request.uri.queryParameters.get("after", as: Int.self) ?? 0
        let limit = min(max(request.uri.queryParameters.get("limit", as: Int.self) ?? 1000, 1), 10_000)
        let lines = try await store.logLines(executionId: execution.id, afterSeq: after, limit: limit)
        let current = try await store.execution(id: execution.id) ?? execution
        return LogPage(executionId: execution.id, lines: lines, nextAfter: lines.last?.seq ?? after, complete: current.status.isFinal && lines.count < limit)
    }

    func visibleExecution(_ context: AppRequestContext) async throws -> (execution: Execution, event: Event) {
        let user = try context.requireUser()
        let id = try context.parameters.require("id", as: Int64.self)
        guard let execution = try await store.execution(id: id), let event = try await store.event(id: execution.eventId), user.canRead(event) else {
            throw Problem.notFound("execution \(id)")
        }
        return (execution, event)
    }
}

extension Execution: ResponseEncodable {}

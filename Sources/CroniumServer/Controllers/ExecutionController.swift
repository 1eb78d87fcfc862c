import CroniumCore
import CroniumEngine
import Foundation
import Hummingbird

/// `/api/v1/executions`: run history, cancellation and logs.
struct ExecutionController {
    let engine: Engine

    func addRoutes(to group: RouterGroup<UserRequestContext>) {
        group.get(use: list)
        group.get("stats", use: stats)
        group.get(":id", use: show)
        group.post(":id/cancel", use: cancel)
        group.get(":id/logs", use: logs)
    }

    struct LogPage: ResponseEncodable {
        let executionId: ExecutionID
        let lines: [LogLine]
        /// Pass as `after` to get the next page.
        let nextAfter: Int
        /// True when the run has ended and this page reaches the end of its log.
        let complete: Bool
    }

    @Sendable func list(_ request: Request, context: UserRequestContext) async throws -> [Execution] {
        let user = context.user
        let query = QueryParameters(request)
        return try await engine.executions(
            visibleTo: user,
            eventId: try query.id("eventId", of: Event.self),
            status: try query.name("status", as: ExecutionStatus.self),
            before: try query.id("before", of: Execution.self),
            limit: try query.integer("limit", default: 50, in: 1...500)
        )
    }

    /// `?window=24h` (by hour, the default) or `7d` (by day).
    @Sendable func stats(_ request: Request, context: UserRequestContext) async throws -> ExecutionStats {
        let window = try QueryParameters(request).name("window", as: Engine.StatsWindow.self) ?? .day
        return try await engine.executionStats(visibleTo: context.user, window: window)
    }

    /// One run, with the actions its end set off, the messages they sent, and its parts (one per
    /// server of a REMOTE run).
    @Sendable func show(_ request: Request, context: UserRequestContext) async throws -> Execution {
        var execution = try await engine.execution(
            id: try context.parameters.require("id", as: ExecutionID.self),
            visibleTo: context.user
        ).execution
        let actions = try await engine.actionFirings(of: execution.id)
        execution.actions = actions.isEmpty ? nil : actions
        let parts = try await engine.parts(of: execution.id)
        execution.parts = parts.isEmpty ? nil : parts
        let deliveries = try await engine.deliveries(of: execution.id)
        execution.deliveries = deliveries.isEmpty ? nil : deliveries
        return execution
    }

    @Sendable func cancel(_ request: Request, context: UserRequestContext) async throws -> Execution {
        try await engine.cancel(executionId: try context.parameters.require("id", as: ExecutionID.self), by: context.user)
    }

    @Sendable func logs(_ request: Request, context: UserRequestContext) async throws -> LogPage {
        let id = try context.parameters.require("id", as: ExecutionID.self)
        let query = QueryParameters(request)
        let after = try query.integer("after", default: 0, in: 0...Int(Int32.max))
        let limit = try query.integer("limit", default: 1000, in: 1...10_000)
        let page = try await engine.logLines(executionId: id, visibleTo: context.user, after: after, limit: limit)
        return LogPage(executionId: id, lines: page.lines, nextAfter: page.lines.last?.seq ?? after, complete: page.complete)
    }
}

extension Execution: ResponseEncodable {}

extension ExecutionStats: ResponseEncodable {}

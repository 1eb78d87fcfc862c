import CroniumCore
import CroniumEngine
import CroniumExecutors
import CroniumStore
import Foundation
import Hummingbird

/// `/api/v1/events`: create, read, change, delete and run events.
struct EventController {
    let engine: Engine
    let isolation: Isolation
    var store: Database { engine.store }

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.get(use: list)
        group.post(use: create)
        group.get(":id", use: show)
        group.patch(":id", use: update)
        group.delete(":id", use: delete)
        group.post(":id/run", use: run)
        group.get(":id/ledger", use: ledger)
    }

    struct RunResponse: ResponseEncodable {
        let executionId: Int64
    }

    @Sendable func list(_ request: Request, context: AppRequestContext) async throws -> [Event] {
        let user = try context.requireUser()
        var events = try await store.events(ownerOrShared: user.role == .admin ? nil : user.id)
        if let tag = request.uri.queryParameters.get("tag") { events = events.filter { $0.tags.contains(tag) } }
        if let status = request.uri.queryParameters.get("status") { events = events.filter { $0.status.rawValue == status.uppercased() } }
        return events
    }

    @Sendable func create(_ request: Request, context: AppRequestContext) async throws -> EditedResponse<Event> {
        let user = try context.requireUser()
        guard user.canCreate else { throw Problem.forbidden }
        let input = try await request.decodeJSON(as: EventInput.self, context: context)
        let new = try Event.create(from: input, ownerId: user.id, now: Date())
        try checkBoundary(of: new, before: nil, user: user)
        let event = try await store.insertEvent(new)
        await engine.eventChanged(id: event.id, scheduleChanged: true)
        return EditedResponse(status: .created, headers: [.location: "/api/v1/events/\(event.id)"], response: event)
    }

    @Sendable func show(_ request: Request, context: AppRequestContext) async throws -> Event {
        try await visibleEvent(context)
    }

    @Sendable func update(_ request: Request, context: AppRequestContext) async throws -> Event {
        let user = try context.requireUser()
        var event = try await visibleEvent(context)
        guard user.canChange(event) else { throw Problem.forbidden }
        let input = try await request.decodeJSON(as: EventInput.self, context: context)
        let before = event
        try event.apply(input, now: Date())
        try checkBoundary(of: event, before: before, user: user)
        try await store.updateEvent(event)
        let timetableChanged = before.schedule != event.schedule || before.triggerType != event.triggerType || before.status != event.status
        await engine.eventChanged(id: event.id, scheduleChanged: timetableChanged)
        return event
    }

    @Sendable func delete(_ request: Request, context: AppRequestContext) async throws -> HTTPResponse.Status {
        let user = try context.requireUser()
        let event = try await visibleEvent(context)
        guard user.canChange(event) else { throw Problem.forbidden }
        for execution in try await store.unfinishedExecutions(eventId: event.id) {
            _ = try await engine.cancel(executionId: execution.id, reason: "the event was deleted")
        }
        try await store.deleteEvent(id: event.id)
        await engine.eventChanged(id: event.id, scheduleChanged: true)
        return .noContent
    }

    @Sendable func run(_ request: Request, context: AppRequestContext) async throws -> EditedResponse<RunResponse> {
        let user = try context.requireUser()
        let event = try await visibleEvent(context)
        guard user.canRun(event) else { throw Problem.forbidden }
        guard event.status != .archived else { throw Problem(.conflict, "archived events cannot run; set status to ACTIVE or PAUSED first") }
        guard event.maxExecutions == 0 || event.executionCount < event.maxExecutions else {
            throw Problem(
                .conflict,
                "event \(event.id) has used all \(event.maxExecutions) of its executions; raise maxExecutions, or re-activate it with resetCounterOnActive set")
        }
        let id = try await engine.enqueue(eventId: event.id, trigger: .manual, triggeredBy: user.id)
        return EditedResponse(status: .accepted, headers: [.location: "/api/v1/executions/\(id)"], response: RunResponse(executionId: id))
    }

    @Sendable func ledger(_ request: Request, context: AppRequestContext) async throws -> [ScheduleOccurrence] {
        let event = try await visibleEvent(context)
        let limit = min(max(request.uri.queryParameters.get("limit", as: Int.self) ?? 100, 1), 1000)
        let offset = max(request.uri.queryParameters.get("offset", as: Int.self) ?? 0, 0)
        return try await store.ledger(eventId: event.id, limit: limit, offset: offset)
    }

    /// Limits within this server's maxima; read-only paths set by an administrator only (each
    /// opens part of the host to every run of the event), never the data directory.
    private func checkBoundary(of event: Event, before: Event?, user: User) throws {
        if let paths = event.readOnlyPaths, paths != before?.readOnlyPaths, user.role != .admin {
            throw Problem(.forbidden, "only administrators may set readOnlyPaths: each path opens part of this machine to the event's runs")
        }
        var problems = event.limits?.problems(field: "limits", maxima: isolation.maximumLimits) ?? []
        for path in event.readOnlyPaths ?? [] {
            if let problem = Isolation.problem(readOnlyPath: path, forbidden: isolation.forbiddenPaths) {
                problems.append(.init(field: "readOnlyPaths", message: problem))
            }
        }
        try ValidationError.check(problems)
    }

    private func visibleEvent(_ context: AppRequestContext) async throws -> Event {
        let user = try context.requireUser()
        let id = try context.parameters.require("id", as: Int64.self)
        guard let event = try await store.event(id: id), user.canRead(event) else { throw Problem.notFound("event \(id)") }
        return event
    }
}

extension Event: ResponseEncodable {}
extension ScheduleOccurrence: ResponseEncodable {}

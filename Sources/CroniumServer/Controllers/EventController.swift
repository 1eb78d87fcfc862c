import CroniumCore
import CroniumEngine
import Foundation
import Hummingbird

/// `/api/v1/events`: create, read, change, delete and run events.
struct EventController {
    let engine: Engine

    func addRoutes(to group: RouterGroup<UserRequestContext>) {
        group.get(use: list)
        group.post(use: create)
        group.get("export", use: export)
        group.post("import", use: importDocument)
        group.get(":id", use: show)
        group.patch(":id", use: update)
        group.delete(":id", use: delete)
        group.post(":id/run", use: run)
        group.get(":id/ledger", use: ledger)
        group.get(":id/next", use: next)
    }

    struct RunResponse: ResponseEncodable {
        let executionId: ExecutionID
    }

    @Sendable func list(_ request: Request, context: UserRequestContext) async throws -> [EventOverview] {
        try await engine.overviews(of: try await filteredEvents(request, context: context))
    }

    /// The events the caller may see, narrowed by `?tag=` and `?status=`.
    private func filteredEvents(_ request: Request, context: UserRequestContext) async throws -> [Event] {
        var events = try await engine.events(visibleTo: context.user)
        let query = QueryParameters(request)
        if let tag = query.text("tag") { events = events.filter { $0.tags.contains(tag) } }
        if let status = try query.name("status", as: EventStatus.self) { events = events.filter { $0.status == status } }
        return events
    }

    @Sendable func export(_ request: Request, context: UserRequestContext) async throws -> EventDocument {
        try await engine.exportDocument(of: try await filteredEvents(request, context: context))
    }

    /// Body: an ``EventDocument`` (events, and workflows), or a bare array of events (what
    /// `GET /api/v1/events` returns: their read-only fields are ignored).
    @Sendable func importDocument(_ request: Request, context: UserRequestContext) async throws -> ImportReport {
        let user = context.user
        let dryRun = try QueryParameters(request).flag("dryRun") ?? false
        let data = Data(try await request.body.collect(upTo: Request.maxJSONBytes).readableBytesView)
        let document = try EventDocumentReader.document(in: data, decoder: context.requestDecoder)
        return try await engine.importDocument(document, by: user, dryRun: dryRun)
    }

    @Sendable func create(_ request: Request, context: UserRequestContext) async throws -> EditedResponse<EventOverview> {
        let user = context.user
        let input = try await request.decodeJSON(as: EventInput.self, readOnly: Event.readOnlyFields)
        let event = try await engine.createEvent(input, by: user)
        return EditedResponse(status: .created, headers: [.location: "/api/v1/events/\(event.id)"], response: try await engine.overview(of: event))
    }

    @Sendable func show(_ request: Request, context: UserRequestContext) async throws -> EventOverview {
        let event = try await engine.event(id: try context.parameters.require("id", as: EventID.self), visibleTo: context.user)
        return try await engine.overview(of: event)
    }

    @Sendable func update(_ request: Request, context: UserRequestContext) async throws -> EventOverview {
        let user = context.user
        let id = try context.parameters.require("id", as: EventID.self)
        // The event is looked up before the body is read, so an unknown id is a 404 whatever the body.
        _ = try await engine.event(id: id, visibleTo: user)
        let input = try await request.decodeJSON(as: EventInput.self, readOnly: Event.readOnlyFields)
        return try await engine.overview(of: try await engine.updateEvent(id: id, with: input, by: user))
    }

    @Sendable func next(_ request: Request, context: UserRequestContext) async throws -> UpcomingFires {
        let count = try QueryParameters(request).integer("count", default: 5, in: 1...1000)
        return try await engine.upcomingFires(
            eventId: try context.parameters.require("id", as: EventID.self),
            visibleTo: context.user,
            count: count
        )
    }

    @Sendable func delete(_ request: Request, context: UserRequestContext) async throws -> HTTPResponse.Status {
        try await engine.deleteEvent(id: try context.parameters.require("id", as: EventID.self), by: context.user)
        return .noContent
    }

    /// The body is optional: `{"input": <any JSON>}` gives the run an input.
    @Sendable func run(_ request: Request, context: UserRequestContext) async throws -> EditedResponse<RunResponse> {
        let eventId = try context.parameters.require("id", as: EventID.self)
        let user = context.user
        let input = try await RunRequest.input(of: request)
        let id = try await engine.runNow(eventId: eventId, by: user, input: input)
        return EditedResponse(status: .accepted, headers: [.location: "/api/v1/executions/\(id)"], response: RunResponse(executionId: id))
    }

    @Sendable func ledger(_ request: Request, context: UserRequestContext) async throws -> [ScheduleOccurrence] {
        let query = QueryParameters(request)
        let limit = try query.integer("limit", default: 100, in: 1...1000)
        let offset = try query.integer("offset", default: 0, in: 0...Int(Int32.max))
        return try await engine.ledger(
            eventId: try context.parameters.require("id", as: EventID.self),
            visibleTo: context.user,
            limit: limit,
            offset: offset
        )
    }
}

extension EventOverview: ResponseEncodable {}
extension EventDocument: ResponseEncodable {}
extension ImportReport: ResponseEncodable {}
extension UpcomingFires: ResponseEncodable {}
extension ScheduleOccurrence: ResponseEncodable {}

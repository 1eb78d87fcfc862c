import CroniumCore
import CroniumEngine
import Foundation
import Hummingbird

/// `/api/v1/tools`: the caller's tools and the shared ones. Credentials (URLs, headers, secrets,
/// passwords) go in and never come out.
struct ToolController {
    let engine: Engine

    func addRoutes(to group: RouterGroup<UserRequestContext>) {
        group.get(use: list)
        group.post(use: create)
        group.post("preview", use: preview)
        group.get(":name", use: show)
        group.patch(":name", use: update)
        group.delete(":name", use: delete)
        group.post(":name/test", use: test)
        group.get(":name/deliveries", use: deliveries)
    }

    static let readOnly: Set<String> = ["id", "headerNames", "signed", "urlHost", "email", "createdAt", "updatedAt"]

    @Sendable func list(_ request: Request, context: UserRequestContext) async throws -> [Tool] {
        try await engine.tools(of: context.user)
    }

    @Sendable func create(_ request: Request, context: UserRequestContext) async throws -> EditedResponse<Tool> {
        let input = try await request.decodeJSON(as: ToolInput.self, readOnly: Self.readOnly)
        let tool = try await engine.addTool(input, by: context.user)
        return EditedResponse(status: .created, headers: [.location: "/api/v1/tools/\(tool.name)"], response: tool)
    }

    @Sendable func show(_ request: Request, context: UserRequestContext) async throws -> Tool {
        try await engine.tool(named: try context.parameters.require("name"), of: context.user)
    }

    @Sendable func update(_ request: Request, context: UserRequestContext) async throws -> Tool {
        let user = context.user
        let name = try context.parameters.require("name")
        // Looked up first, so an unknown name is a 404 whatever the body.
        _ = try await engine.tool(named: name, of: user)
        let input = try await request.decodeJSON(as: ToolInput.self, readOnly: Self.readOnly)
        return try await engine.updateTool(named: name, input, by: user)
    }

    @Sendable func delete(_ request: Request, context: UserRequestContext) async throws -> HTTPResponse.Status {
        try await engine.deleteTool(named: try context.parameters.require("name"), by: context.user)
        return .noContent
    }

    struct PreviewRequest: Codable {
        var executionId: ExecutionID
        var subject: String?
        var message: String
        /// Renders for an HTML body (values escaped).
        var html: Bool?
    }

    struct Preview: ResponseEncodable {
        var subject: String?
        var text: String
    }

    /// A message's templates rendered over a past run, as a message about it would read.
    @Sendable func preview(_ request: Request, context: UserRequestContext) async throws -> Preview {
        let body = try await request.decodeJSON(as: PreviewRequest.self)
        let rendered = try await engine.previewMessage(
            executionId: body.executionId,
            subject: body.subject,
            message: body.message,
            html: body.html ?? false,
            by: context.user
        )
        return Preview(subject: rendered.subject, text: rendered.text)
    }

    /// Sends a real test message; the answer says what the far end said, delivered or not.
    /// An email tool's test goes to `{"to": [...]}`, or else to its own sender.
    @Sendable func test(_ request: Request, context: UserRequestContext) async throws -> DeliveryResult {
        let to = try await request.decodeJSONIfPresent(as: ToolTestInput.self)?.to
        return try await engine.testTool(named: try context.parameters.require("name"), to: to, by: context.user)
    }

    /// The newest messages sent through the tool (`?limit=`, default 20).
    @Sendable func deliveries(_ request: Request, context: UserRequestContext) async throws -> [Delivery] {
        let limit = try QueryParameters(request).integer("limit", default: 20, in: 1...500)
        return try await engine.deliveries(ofTool: try context.parameters.require("name"), visibleTo: context.user, limit: limit)
    }
}

extension Tool: ResponseEncodable {}
extension DeliveryResult: ResponseEncodable {}

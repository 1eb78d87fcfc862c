import CroniumCore
import CroniumEngine
import Foundation
import Hummingbird

/// `/api/v1/servers`: the caller's remote servers. Credentials go in and never come out; a host
/// key is pinned only when the caller vouches for it (`acceptHostKey` or `knownHosts`).
struct ServerController {
    let engine: Engine

    func addRoutes(to group: RouterGroup<UserRequestContext>) {
        group.get(use: list)
        group.post(use: create)
        group.post("scan", use: scan)
        group.get(":name", use: show)
        group.patch(":name", use: update)
        group.delete(":name", use: delete)
        group.post(":name/check", use: check)
    }

    static let readOnly: Set<String> = ["id", "auth", "publicKey", "hostKeys", "hostKeyMismatch", "connection", "createdAt", "updatedAt"]

    @Sendable func list(_ request: Request, context: UserRequestContext) async throws -> [RemoteServer] {
        var servers = try await engine.servers(of: context.user)
        if let tag = QueryParameters(request).text("tag") { servers = servers.filter { $0.tags.contains(tag) } }
        return servers
    }

    @Sendable func create(_ request: Request, context: UserRequestContext) async throws -> EditedResponse<RemoteServer> {
        let user = context.user
        let input = try await request.decodeJSON(as: RemoteServerInput.self, readOnly: Self.readOnly)
        let server = try await engine.addServer(input, by: user)
        return EditedResponse(status: .created, headers: [.location: "/api/v1/servers/\(server.name)"], response: server)
    }

    struct ScanRequest: Codable {
        var host: String
        var port: Int?
    }

    /// The key a host offers, without logging in: what its owner compares before pinning it.
    @Sendable func scan(_ request: Request, context: UserRequestContext) async throws -> HostKeyScan {
        _ = context.user
        let body = try await request.decodeJSON(as: ScanRequest.self)
        return try await engine.scanHostKey(host: body.host, port: body.port ?? 22)
    }

    @Sendable func show(_ request: Request, context: UserRequestContext) async throws -> RemoteServer {
        try await engine.server(named: try context.parameters.require("name"), of: context.user)
    }

    @Sendable func update(_ request: Request, context: UserRequestContext) async throws -> RemoteServer {
        let user = context.user
        let name = try context.parameters.require("name")
        // Looked up first, so an unknown name is a 404 whatever the body.
        _ = try await engine.server(named: name, of: user)
        let input = try await request.decodeJSON(as: RemoteServerInput.self, readOnly: Self.readOnly)
        return try await engine.updateServer(named: name, input, by: user)
    }

    @Sendable func delete(_ request: Request, context: UserRequestContext) async throws -> HTTPResponse.Status {
        try await engine.deleteServer(named: try context.parameters.require("name"), by: context.user)
        return .noContent
    }

    @Sendable func check(_ request: Request, context: UserRequestContext) async throws -> RemoteServerCheck {
        try await engine.checkServer(named: try context.parameters.require("name"), of: context.user)
    }
}

extension RemoteServer: ResponseEncodable {}
extension RemoteServerCheck: ResponseEncodable {}
extension HostKeyScan: ResponseEncodable {}

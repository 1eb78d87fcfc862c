import CroniumTesting
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@testable import CroniumServer

@Suite struct RouteTableTests {
    /// The router's real routes, in OpenAPI notation (`{id}` for `:id`); the web UI's pages and
    /// files are not API routes (``WebUITests`` covers them).
    static func routes(of server: CroniumServer) -> Set<String> {
        Set(
            buildRouter(server).routes.compactMap { route in
                let path = route.path.description.split(separator: "/").map { $0.hasPrefix(":") ? "{\($0.dropFirst())}" : String($0) }
                let joined = "/" + path.joined(separator: "/")
                return WebUI.isPublic(joined) ? nil : "\(route.method.rawValue) \(joined)"
            }
        )
    }

    @Test func openAPIDocumentListsExactlyTheRoutesServed() async throws {
        let fixture = try await ServerFixture()
        let documented = Set(OpenAPIDocument.operations.map { "\($0.method) \($0.path)" })
        #expect(Self.routes(of: fixture.server) == documented)
        try await fixture.test { client in
            try await client.execute(uri: "/api/v1/openapi.json", method: .get, headers: auth(fixture.adminToken)) { response in
                #expect(response.status == .ok)
                let document = try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: Any]
                let paths = try #require(document?["paths"] as? [String: [String: Any]])
                let served = Set(paths.flatMap { path, methods in methods.keys.map { "\($0.uppercased()) \(path)" } })
                #expect(served == documented)
            }
        }
    }

    /// Fails when a route is added without protection: every route but the public ones must refuse
    /// an anonymous caller and a revoked or made-up token.
    @Test func everyRouteButThePublicOnesRequiresCredentials() async throws {
        let fixture = try await ServerFixture()
        let publicRoutes = Set(OpenAPIDocument.operations.filter(\.isPublic).map { "\($0.method) \($0.path)" })
        // A webhook's key is its credential: a sender has no account.
        #expect(
            publicRoutes == [
                "GET /health", "GET /live", "GET /ready", "POST /api/v1/auth/login", "GET /api/v1/auth/session", "POST /api/v1/hooks/{key}",
            ]
        )
        let routes = Self.routes(of: fixture.server)
        try await fixture.test { client in
            for route in routes where !publicRoutes.contains(route) {
                let parts = route.split(separator: " ")
                let method = HTTPRequest.Method(String(parts[0]))!
                let uri = parts[1].replacingOccurrences(of: "{id}", with: "1")
                for headers: HTTPFields in [[:], [.authorization: "Bearer crn_made-up"], [.cookie: "cronium_session=forged"]] {
                    try await client.execute(uri: uri, method: method, headers: headers, body: ByteBuffer(string: "{}")) { response in
                        #expect(response.status == .unauthorized, "\(route) with \(headers) answered \(response.status)")
                        #expect(response.headers[.contentType] == "application/problem+json")
                    }
                }
            }
            try await client.execute(uri: "/api/v1/hooks/hook_made-up", method: .post, body: ByteBuffer(string: "{}")) { response in
                #expect(response.status == .notFound && response.headers[.contentType] == "application/problem+json")
            }
            for probe in ["/health", "/live"] {
                try await client.execute(uri: probe, method: .get) { #expect($0.status == .ok) }
            }
        }
    }
}

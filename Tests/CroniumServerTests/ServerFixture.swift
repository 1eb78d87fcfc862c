import CroniumCore
import CroniumStore
import CroniumTesting
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Testing

@testable import CroniumEngine
@testable import CroniumServer

/// A real server on a fresh data directory, with the first-start admin token.
struct ServerFixture {
    let directory: TemporaryDirectory
    let server: CroniumServer
    let adminToken: String
    /// Podman's socket when `scripts/test.sh` started it.
    static let containerSocket = ProcessInfo.processInfo.environment["CRONIUM_TEST_CONTAINER_SOCKET"]

    /// `dataDirectoryName`: the data directory's name inside ``directory`` (`.cronium` for a
    /// server the docs' examples run against, as `cronium serve` makes in its working directory).
    init(dataDirectoryName: String = "data", _ configure: (inout ServerConfiguration) -> Void = { _ in }) async throws {
        directory = try TemporaryDirectory("server")
        var configuration = ServerConfiguration()
        configuration.engine.dataDirectory = directory.appending(dataDirectoryName)
        configuration.port = 0
        // No engine unless a test asks for the one scripts/test.sh started (``containerSocket``):
        // dozens of servers asking it for orphans at once would slow it down for the tests that use it.
        configuration.engine.containerSocket = "/nonexistent/cronium-test-engine.sock"
        configure(&configuration)
        // Password hashing stays real bcrypt, at the cheapest cost, to keep the suite fast.
        configuration.engine.bcryptCost = 4
        // Tests run side by side: no fixed port (the start checks that its port is free).
        configuration.port = 0
        var logger = Logger(label: "cronium.test")
        logger.logLevel = .warning
        server = try await CroniumServer(configuration: configuration, logger: logger)
        let admin = try #require(server.node.initialAdmin)
        adminToken = try String(contentsOfFile: admin.tokenPath, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func test(_ mode: TestingSetup = .router, _ body: @escaping @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        defer { directory.remove() }
        // The store is closed whatever the body did: an open SQLite connection must not be dropped.
        do {
            try await buildApplication(server).test(mode) { client in try await body(client) }
        } catch {
            await server.node.close()
            throw error
        }
        await server.node.close()
    }
}

extension CroniumServer {
    /// The node's database, for tests that set up or check what the API does not show.
    var store: Database { node.store }
}

func auth(_ token: String) -> HTTPFields { [.authorization: "Bearer \(token)"] }

/// One request as `token`'s holder, with a JSON body; the answer's status and body.
func send(_ client: any TestClientProtocol, _ token: String, _ method: HTTPRequest.Method, _ uri: String, _ body: String? = nil) async throws -> (
    status: Int, body: String
) {
    try await client.execute(uri: uri, method: method, headers: auth(token), body: body.map { ByteBuffer(string: $0) }) {
        ($0.status.code, String(buffer: $0.body))
    }
}

func json<T: Encodable>(_ value: T) throws -> ByteBuffer { ByteBuffer(bytes: try JSONEncoder.cronium.encode(value)) }

func decode<T: Decodable>(_ type: T.Type, _ response: TestResponse) throws -> T {
    try JSONDecoder.cronium.decode(T.self, from: Data(response.body.readableBytesView))
}

struct ProblemBody: Decodable {
    struct Field: Decodable, Equatable {
        let field: String
        let message: String
    }
    let type: String
    let code: String
    let status: Int
    let detail: String
    let errors: [Field]?
}

/// Creates a user through the API and returns an API token for them.
func makeUser(_ client: any TestClientProtocol, admin: String, name: String, role: Role) async throws -> String {
    struct NewUser: Encodable {
        let username: String
        let password: String
        let role: Role
    }
    struct Created: Decodable { let secret: String }
    try await client.execute(
        uri: "/api/v1/users",
        method: .post,
        headers: auth(admin),
        body: try json(NewUser(username: name, password: "password-\(name)", role: role))
    ) {
        #expect($0.status == .created)
    }
    // Sign in with the password, then mint a token with the session, as a person would.
    let session = try await signIn(client, name, "password-\(name)")
    return try await client.execute(uri: "/api/v1/tokens", method: .post, headers: session.headers, body: ByteBuffer(string: #"{"name":"t"}"#)) {
        #expect($0.status == .created)
        return try decode(Created.self, $0).secret
    }
}

/// A browser's session: its cookie, and the CSRF token its writes carry.
struct BrowserSession {
    let cookie: String
    let csrfToken: String
    /// What a page of the web UI sends with a write.
    var headers: HTTPFields { [.cookie: cookie, HTTPField.Name("X-CSRF-Token")!: csrfToken] }
}

/// Signs in with a password, as the web UI does.
func signIn(_ client: any TestClientProtocol, _ username: String, _ password: String) async throws -> BrowserSession {
    struct Login: Encodable {
        let username: String
        let password: String
    }
    struct SignedIn: Decodable { let csrfToken: String }
    return try await client.execute(uri: "/api/v1/auth/login", method: .post, body: try json(Login(username: username, password: password))) {
        response in
        #expect(response.status == .ok)
        let setCookie = response.headers[.setCookie] ?? ""
        #expect(setCookie.contains("HttpOnly") && setCookie.contains("SameSite=Strict"))
        return BrowserSession(cookie: String(setCookie.split(separator: ";")[0]), csrfToken: try decode(SignedIn.self, response).csrfToken)
    }
}

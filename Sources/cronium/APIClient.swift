import ArgumentParser
import AsyncHTTPClient
import CroniumCore
import CroniumServer
import Foundation
import NIOCore
import NIOHTTP1

/// Where the server is and who is calling; shared by every client command.
struct ClientOptions: ParsableArguments {
    @Option(help: "Server URL (or env CRONIUM_URL).") var url: String?
    @Option(help: "API token (or env CRONIUM_TOKEN; default: ./.cronium/initial-admin-token).") var token: String?
    @Flag(name: .customLong("json"), help: "Print JSON instead of tables (the same as -o json).") var jsonFlag = false
    @Option(name: [.short, .customLong("output")], help: "table (the default) or json.") var output: OutputFormat?
    @Flag(name: [.short, .long], help: "Print only ids: of each row of a list, of what was created or started.") var quiet = false

    enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
        case table, json
    }

    var json: Bool { jsonFlag || output == .json }

    /// `--url`, `CRONIUM_URL`, the URL `cronium login` saved, or the default; `host:port` and
    /// `localhost:5001` mean `http://…`.
    func baseURL(_ saved: CLIConfiguration) -> String {
        Self.normalized(url ?? ProcessInfo.processInfo.environment["CRONIUM_URL"] ?? saved.url ?? "http://127.0.0.1:5001")
    }

    static func normalized(_ url: String) -> String {
        var value = url.trimmingCharacters(in: .whitespaces)
        if !value.contains("://") { value = "http://" + value }
        while value.hasSuffix("/") { value.removeLast() }
        return value
    }

    /// `--token`, `CRONIUM_TOKEN`, the token `cronium login` saved for this very URL, or the one
    /// the first start wrote next to the data when the command runs beside it.
    func resolvedToken(for url: String, _ saved: CLIConfiguration) -> String? {
        if let token { return token }
        if let token = ProcessInfo.processInfo.environment["CRONIUM_TOKEN"], !token.isEmpty { return token }
        if let login = saved.logins[url] { return login.token }
        let file = FileManager.default.contents(atPath: "./.cronium/initial-admin-token").map { String(decoding: $0, as: UTF8.self) }
        return file?.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The server and credentials this command uses.
    var client: APIClient {
        get throws {
            let saved = try CLIConfiguration.load()
            let url = baseURL(saved)
            return APIClient(baseURL: url, token: resolvedToken(for: url, saved))
        }
    }
}

/// JSON over HTTP to a running server. API problems become ``CLIError``s with the server's message.
struct APIClient: Sendable {
    let baseURL: String
    let token: String?
    /// A session cookie (`name=value`, as the server set it), for `cronium login` with a password
    /// before it has a token.
    var sessionCookie: String? = nil
    /// The session's `X-CSRF-Token`, which every write made with ``sessionCookie`` must carry.
    var csrfToken: String? = nil
    /// How long a request may take, its answer included: long enough for any API call but a
    /// purge (``PurgeCommand`` waits longer).
    var timeout: TimeAmount = .seconds(30)

    /// A refused connection should fail at once, not be retried until the request deadline.
    static let http: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.timeout.connect = .seconds(5)
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }()

    /// The server's own date format, so client and server agree by construction.
    static var decoder: JSONDecoder { .cronium }
    static var encoder: JSONEncoder { .cronium }

    /// Sends a request and returns the raw body, failing with the server's problem detail on >= 400.
    func send(_ method: HTTPMethod, _ path: String, body: (some Encodable)? = String?.none) async throws -> Data {
        try await exchange(method, path, body: body).body
    }

    /// ``send(_:_:body:)`` with the response's headers too.
    func exchange(_ method: HTTPMethod, _ path: String, body: (some Encodable)? = String?.none) async throws -> (headers: HTTPHeaders, body: Data) {
        try await exchange(method, path, json: try body.map { try Self.encoder.encode($0) })
    }

    /// A request whose body is JSON already (a document read from a file, sent as it is).
    func exchange(_ method: HTTPMethod, _ path: String, json: Data?, contentType: String = "application/json") async throws -> (
        headers: HTTPHeaders, body: Data
    ) {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        if let sessionCookie { request.headers.add(name: "Cookie", value: sessionCookie) }
        if let csrfToken { request.headers.add(name: "X-CSRF-Token", value: csrfToken) }
        if let json {
            request.headers.add(name: "Content-Type", value: contentType)
            request.body = .bytes(ByteBuffer(bytes: json))
        }
        let response: HTTPClientResponse
        do {
            response = try await Self.http.execute(request, timeout: timeout)
        } catch {
            throw CLIError(
                "cannot reach Cronium at \(baseURL): \(Self.reason(error)). Is `cronium serve` running there? Give its address with --url or CRONIUM_URL.",
                code: .unreachable
            )
        }
        let data = Data((try await response.body.collect(upTo: 64 << 20)).readableBytesView)
        guard response.status.code < 400 else {
            let code = Exit(refusal: Int(response.status.code))
            if let problem = try? JSONDecoder().decode(ProblemBody.self, from: data) {
                // Field problems one a line; the detail lists them too, on one line.
                guard let errors = problem.errors, !errors.isEmpty else { throw CLIError(problem.detail, code: code) }
                let lines = errors.map { "  \($0.field): \($0.message)" }
                throw CLIError(
                    (["the request has \(errors.count) problem\(errors.count == 1 ? "" : "s"):"] + lines).joined(separator: "\n"),
                    code: code
                )
            }
            throw CLIError("the server answered \(response.status.code) \(response.status.reasonPhrase)", code: code)
        }
        return (response.headers, data)
    }

    /// Why a connection failed, in words: NIO's errors name their own types.
    static func reason(_ error: any Error) -> String {
        let text = "\(error)"
        if text.contains("Connection refused") { return "nothing answers there (connection refused)" }
        if text.contains("connectTimeout") || text.contains("timed out") { return "no answer within 5 seconds" }
        if text.contains("NXDOMAIN") || text.contains("getaddrinfo") || text.contains("unknown host") { return "the host name does not resolve" }
        return text
    }

    func get<T: Decodable>(_ path: String, as type: T.Type = T.self) async throws -> T {
        try Self.decoder.decode(T.self, from: try await send(.GET, path))
    }

    func call<T: Decodable>(_ method: HTTPMethod, _ path: String, body: (some Encodable)? = String?.none, as type: T.Type = T.self) async throws -> T
    {
        try Self.decoder.decode(T.self, from: try await send(method, path, body: body))
    }

    struct ProblemBody: Decodable {
        struct Field: Decodable {
            let field: String
            let message: String
        }
        let detail: String
        let errors: [Field]?
    }
}

/// Prints raw JSON the server returned, pretty, for `--json`.
func printJSON(_ data: Data) {
    if let object = try? JSONSerialization.jsonObject(with: data),
        let pretty = try? JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
    {
        print(String(decoding: pretty, as: UTF8.self))
    } else {
        print(String(decoding: data, as: UTF8.self))
    }
}

/// Rows as left-aligned columns, two spaces apart.
func printColumns(_ rows: [[String]]) {
    let widths = (rows.first ?? []).indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
    for row in rows {
        print(
            row.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }.joined(separator: "  ").trimmingCharacters(
                in: .whitespaces
            )
        )
    }
}

extension ClientOptions {
    /// Left-aligned columns for people, one line a row whatever the cells hold (line breaks shown
    /// as ⏎, long cells cut with …); with `-q` only the first column, the ids.
    func printTable(_ header: [String], _ rows: [[String]]) {
        if quiet {
            for row in rows { print(row[0]) }
            return
        }
        printColumns(([header] + rows).map { $0.map(Self.cell) })
    }

    /// What a command did, for people; with `-q` only the id it is about.
    func report(_ message: String, id: some CustomStringConvertible) {
        print(quiet ? id.description : message)
    }

    static func cell(_ text: String) -> String {
        let flat = text.replacingOccurrences(of: "\r\n", with: "⏎").replacingOccurrences(of: "\n", with: "⏎").replacingOccurrences(
            of: "\t",
            with: " "
        )
        return flat.count > 60 ? flat.prefix(59) + "…" : flat
    }
}

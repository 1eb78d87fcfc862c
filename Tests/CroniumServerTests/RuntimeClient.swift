import CroniumCore
import CroniumTesting
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

@testable import CroniumServer

/// Creating, running and reading runs through the API of a live test server, for tests whose
/// scripts call back.
struct RunsClient {
    let client: any TestClientProtocol
    let token: String

    /// Python for a script that calls its runtime API by hand, without the helpers (which retry):
    /// `Unix("run")` is an `http.client` connection to the run's own socket.
    static let pythonRuntimeConnection = """
        import http.client, os, socket
        class Unix(http.client.HTTPConnection):
            def connect(self):
                self.sock = socket.socket(socket.AF_UNIX)
                self.sock.connect(os.environ["CRONIUM_RUNTIME_URL"][5:])
        """

    func create(_ name: String, _ type: EventType, _ script: String, network: Bool = false, configure: (inout EventInput) -> Void = { _ in })
        async throws -> Event
    {
        var input = EventInput()
        input.name = name
        input.type = type
        input.content = script
        input.networkAccess = network
        configure(&input)
        return try await client.execute(uri: "/api/v1/events", method: .post, headers: auth(token), body: try json(input)) { response in
            #expect(response.status == .created, "\(String(buffer: response.body))")
            return try decode(Event.self, response)
        }
    }

    /// Starts a run, with `body` as the request's body (`{"input": …}`).
    func start(_ event: Event, body: String? = nil) async throws -> ExecutionID {
        struct Started: Decodable { let executionId: ExecutionID }
        return try await client.execute(
            uri: "/api/v1/events/\(event.id)/run",
            method: .post,
            headers: auth(token),
            body: body.map { ByteBuffer(string: $0) }
        ) { response in
            #expect(response.status == .accepted, "\(String(buffer: response.body))")
            return try decode(Started.self, response).executionId
        }
    }

    func execution(_ id: ExecutionID) async throws -> Execution {
        try await client.execute(uri: "/api/v1/executions/\(id)", method: .get, headers: auth(token)) { try decode(Execution.self, $0) }
    }

    /// The run once it has ended (90 s at most: the whole suite at once keeps two cores busy, and
    /// a run that takes one second alone has taken over 30 there).
    func ended(_ id: ExecutionID) async throws -> Execution {
        let deadline = ContinuousClock.now + .seconds(90)
        while true {
            let execution = try await execution(id)
            if execution.status.isFinal || ContinuousClock.now > deadline { return execution }
            try await Task.sleep(for: .milliseconds(25))
        }
    }

    /// What the run's end set off, once recorded (just after the end itself).
    func actions(_ id: ExecutionID) async throws -> [ActionFiring] {
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            if let actions = try await execution(id).actions { return actions }
            try await Task.sleep(for: .milliseconds(25))
        }
        throw TestFailure("run \(id) set nothing off")
    }

    func run(_ event: Event, body: String? = nil) async throws -> Execution {
        try await ended(try await start(event, body: body))
    }

    /// The run's log lines as text, page after page.
    func log(_ id: ExecutionID) async throws -> [String] {
        struct Page: Decodable {
            let lines: [LogLine]
            let nextAfter: Int
        }
        var lines: [String] = []
        var after = 0
        while true {
            let page = try await client.execute(uri: "/api/v1/executions/\(id)/logs?after=\(after)&limit=10000", method: .get, headers: auth(token)) {
                try decode(Page.self, $0)
            }
            lines += page.lines.map(\.text)
            if page.lines.isEmpty { return lines }
            after = page.nextAfter
        }
    }

    /// The first log line that starts with `prefix` (without it), waiting for the running run to print it.
    func line(_ id: ExecutionID, startingWith prefix: String) async throws -> String {
        // As long as ``ended(_:)`` waits: a remote run's first line comes after its connection.
        let deadline = ContinuousClock.now + .seconds(90)
        while ContinuousClock.now < deadline {
            if let line = try await log(id).first(where: { $0.hasPrefix(prefix) }) { return String(line.dropFirst(prefix.count)) }
            try await Task.sleep(for: .milliseconds(25))
        }
        throw TestFailure("run \(id) never printed a line starting with \(prefix)")
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// `curl` against a unix socket or a URL: the tests reach runs' listeners as their scripts do.
func curl(_ arguments: [String]) async throws -> (status: Int, body: String) {
    try await offThePool { try curlBlocking(arguments) }
}

private func curlBlocking(_ arguments: [String]) throws -> (status: Int, body: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
    process.arguments = ["-sS", "-w", "\n%{http_code}"] + arguments
    let output = Pipe()
    process.standardOutput = output
    try process.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    let text = String(decoding: data, as: UTF8.self)
    let status = Int(text.split(separator: "\n").last ?? "") ?? 0
    return (status, String(text.dropLast(String(status).count + 1)))
}

import CroniumCore
import CroniumEngine
import CroniumTesting
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

@testable import CroniumServer

/// Every problem code, caused through the API as a client would meet it, with the one status
/// ``HTTPResponse/Status/init(_:)`` gives it. One live server for all of them.
@Suite struct ProblemCodeTests {
    @Test func everyCodeReachesAClientWithItsStatus() async throws {
        let (receiver, _) = try await ToolTests.receiver()
        defer { receiver.stop() }
        let host = try await SSHHost.start()
        defer { host.stop() }
        // Paced so that a script's second message in a row is told to come back.
        let fixture = try await ServerFixture { $0.engine.toolLimits = ToolRateLimit(perSecond: 0.5, burst: 1, scriptWait: .milliseconds(100)) }
        let database = "\(fixture.server.configuration.engine.dataDirectory)/cronium.sqlite"
        try await fixture.test(.live) { client in
            let admin = fixture.adminToken
            let user = try await makeUser(client, admin: admin, name: "bo", role: .user)
            var seen: [CroniumError.Code: (status: Int, body: String)] = [:]
            func expect(_ code: CroniumError.Code, _ answer: (status: Int, body: String), sourceLocation: SourceLocation = #_sourceLocation) {
                seen[code] = answer
                let problem = try? JSONDecoder().decode(ProblemBody.self, from: Data(answer.body.utf8))
                #expect(answer.status == Int(HTTPResponse.Status(code).code), "\(code): \(answer)", sourceLocation: sourceLocation)
                #expect(problem?.code == code.rawValue && problem?.status == answer.status, "\(code): \(answer)", sourceLocation: sourceLocation)
            }

            expect(.notFound, try await send(client, admin, .get, "/api/v1/events/999999"))
            expect(.forbidden, try await send(client, user, .get, "/api/v1/users"))
            let foreign = try await client.execute(
                uri: "/api/v1/tokens",
                method: .post,
                headers: [.authorization: "Bearer \(admin)", .origin: "https://evil.example"],
                body: ByteBuffer(string: #"{"name":"x"}"#)
            ) { ($0.status.code, String(buffer: $0.body)) }
            expect(.csrfRefused, (Int(foreign.0), foreign.1))
            expect(.unauthorized, try await send(client, "crn_not-a-token", .get, "/api/v1/events"))
            expect(.invalidInput, try await send(client, admin, .post, "/api/v1/events", #"{"name": "", "type": "BASH", "content": "true"}"#))
            expect(.badRequest, try await send(client, admin, .post, "/api/v1/events", "{not json"))
            let huge = #"{"name": "big", "type": "BASH", "content": ""# + String(repeating: "x", count: (4 << 20) + 1) + #""}"#
            expect(.bodyTooLarge, try await send(client, admin, .post, "/api/v1/events", huge))
            expect(.methodNotAllowed, try await send(client, admin, .put, "/api/v1/tokens"))
            expect(.conflict, try await send(client, admin, .post, "/api/v1/users", #"{"username": "bo", "password": "long enough"}"#))

            // Runs: an archived event, one whose executions are used up, a run that has ended.
            let runs = RunsClient(client: client, token: admin)
            let archived = try await runs.create("archived", .bash, "true") { $0.status = .archived }
            expect(.eventArchived, try await send(client, admin, .post, "/api/v1/events/\(archived.id)/run"))
            let once = try await runs.create("once", .bash, "true") { $0.maxExecutions = 1 }
            let ended = try await runs.run(once)
            expect(.executionsUsedUp, try await send(client, admin, .post, "/api/v1/events/\(once.id)/run"))
            expect(.executionEnded, try await send(client, admin, .post, "/api/v1/executions/\(ended.id)/cancel"))

            // Servers: a port where nothing listens, and a fingerprint the host does not offer.
            expect(.remoteFailed, try await send(client, admin, .post, "/api/v1/servers/scan", #"{"host": "127.0.0.1", "port": 1}"#))
            let server =
                [
                    "name": "db", "host": host.host, "port": host.port, "username": SSHHost.user, "password": SSHHost.password,
                    "knownHosts": "[\(host.host)]:\(host.port) \(host.hostKey)\n",
                ] as [String: Any]
            let body = String(decoding: try JSONSerialization.data(withJSONObject: server), as: UTF8.self)
            #expect(try await send(client, admin, .post, "/api/v1/servers", body).status == 201)
            expect(
                .hostKeyChanged,
                try await send(
                    client,
                    admin,
                    .patch,
                    "/api/v1/servers/db",
                    #"{"acceptHostKey": "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}"#
                )
            )

            // The runtime API, from inside a run: a message the far end refused, then one over its tool's pace.
            for (name, path) in [("hook", "hook"), ("gone", "gone")] {
                let tool = #"{"name": "\#(name)", "type": "WEBHOOK", "url": "\#(receiver.url)/\#(path)"}"#
                #expect(try await send(client, admin, .post, "/api/v1/tools", tool).status == 201)
            }
            let script = try await runs.create(
                "messages",
                .python,
                """
                \(RunsClient.pythonRuntimeConnection)
                import json
                def send(tool):
                    connection = Unix("run")
                    headers = {"Authorization": "Bearer " + os.environ["CRONIUM_RUNTIME_TOKEN"], "Content-Type": "application/json"}
                    connection.request("POST", "/runtime/v1/messages", body=json.dumps({"tool": tool, "message": "hi"}), headers=headers)
                    response = connection.getresponse()
                    print(response.status, response.getheader("Retry-After", "-"), response.read().decode())
                send("gone")
                send("hook")
                send("hook")
                """
            )
            let log = try await runs.log(try await runs.run(script).id)
            #expect(log.count == 3, "\(log)")
            func answer(_ line: String) -> (status: Int, body: String) {
                let parts = line.split(separator: " ", maxSplits: 2).map(String.init)
                return (Int(parts.first ?? "") ?? 0, parts.count == 3 ? parts[2] : "")
            }
            if log.count == 3 {
                expect(.deliveryFailed, answer(log[0]))
                #expect(answer(log[1]).status == 200)
                expect(.tooManyRequests, answer(log[2]))
                #expect(log[2].hasPrefix("429 2 "), "the wait is in Retry-After, rounded up to whole seconds: \(log[2])")
            }

            // Webhooks: a signature sent twice, and a paused target.
            let hooked = try await send(
                client,
                admin,
                .post,
                "/api/v1/events",
                #"{"name": "hooked", "type": "BASH", "content": "true", "status": "ACTIVE"}"#
            )
            let hookedId = try JSONDecoder.cronium.decode(EventOverview.self, from: Data(hooked.body.utf8)).event.id
            let hook = try JSONDecoder.cronium.decode(
                Hook.self,
                from: Data(try await send(client, admin, .post, "/api/v1/events/\(hookedId)/hook/rotate").body.utf8)
            )
            let now = Int(Date().timeIntervalSince1970)
            #expect(try await HookAPITests.deliver(client, hook.path, "{}", secret: hook.signingSecret, timestamp: now).status == 202)
            let replay = try await HookAPITests.deliver(client, hook.path, "{}", secret: hook.signingSecret, timestamp: now)
            expect(.signatureReplayed, (replay.status, replay.body))
            _ = try await send(client, admin, .patch, "/api/v1/events/\(hookedId)", #"{"status": "PAUSED"}"#)
            let paused = try await HookAPITests.deliver(client, hook.path, "{}")
            expect(.notAccepting, (paused.status, paused.body))

            // A database that no longer answers as it should: details stay in the log, and the
            // server says it is not ready.
            try Self.sqlite(database, "ALTER TABLE tools RENAME TO tools_gone")
            let broken = try await send(client, admin, .get, "/api/v1/tools")
            expect(.internalError, broken)
            #expect(!broken.body.contains("tools") && !broken.body.localizedCaseInsensitiveContains("sql"), "\(broken)")
            try Self.sqlite(database, "ALTER TABLE users RENAME TO users_gone")
            expect(.unavailable, try await client.execute(uri: "/ready", method: .get) { ($0.status.code, String(buffer: $0.body)) })
            try Self.sqlite(database, "ALTER TABLE users_gone RENAME TO users; ALTER TABLE tools_gone RENAME TO tools")

            #expect(Set(seen.keys) == Set(CroniumError.Code.allCases), "not caused: \(Set(CroniumError.Code.allCases).subtracting(seen.keys))")
        }
    }

    /// Changes the database behind the server's back, with Debian's python3 and its sqlite3.
    static func sqlite(_ path: String, _ statements: String) throws {
        let script = "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.executescript(sys.argv[2]); c.commit()"
        let pid = try spawn(["/usr/bin/python3", "-c", script, path, statements])
        #expect(waitForExit(pid) == 0, "\(statements)")
    }
}

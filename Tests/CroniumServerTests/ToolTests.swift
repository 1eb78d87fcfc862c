import CroniumCore
import CroniumEngine
import CroniumExecutors
import CroniumStore
import CroniumTesting
import Crypto
import Foundation
import HTTPTypes
import HummingbirdTesting
import Logging
import NIOCore
import Testing

@testable import CroniumServer

/// Tools through the API against real HTTP receivers on loopback: each service's payload shape,
/// signed webhooks, retries that honour `Retry-After`, credentials sealed and never returned,
/// and who may see, use and change a tool.
@Suite struct ToolTests {
    /// A receiver that takes every message but on `/gone` (404 "no such hook"), and what it got.
    static func receiver() async throws -> (LocalHTTPServer, ReceivedRequests) {
        try await LocalHTTPServer.recording { request in request.path == "/gone" ? .init(404, "no such hook") : .init(200, "ok") }
    }

    static func json(_ text: String) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:]
    }

    @Test func eachToolPostsItsOwnShapeAndItsCredentialsNeverComeBack() async throws {
        let (receiver, received) = try await LocalHTTPServer.recording { request in .init(200, "ok") }
        defer { receiver.stop() }
        let fixture = try await ServerFixture()
        try await fixture.test(.live) { client in
            let admin = fixture.adminToken
            let secretPath = "T0001/B0002/\(UUID().uuidString)"
            let bodies = [
                #"{"name": "ops-slack", "type": "SLACK", "url": "\#(receiver.url)/slack/\#(secretPath)"}"#,
                #"{"name": "ops-discord", "type": "DISCORD", "url": "\#(receiver.url)/discord/\#(secretPath)"}"#,
                #"{"name": "ops-teams", "type": "TEAMS", "url": "\#(receiver.url)/teams/\#(secretPath)"}"#,
                #"{"name": "hook", "type": "WEBHOOK", "url": "\#(receiver.url)/hook/\#(secretPath)", "headers": {"Authorization": "Bearer header-secret"}, "signingSecret": "signing-secret"}"#,
            ]
            for body in bodies {
                let added = try await send(client, admin, .post, "/api/v1/tools", body)
                #expect(added.status == 201 && !added.body.contains(secretPath) && added.body.contains(#""urlHost":"127.0.0.1""#), "\(added)")
            }
            let listed = try await send(client, admin, .get, "/api/v1/tools")
            for secret in [secretPath, "header-secret", "signing-secret"] { #expect(!listed.body.contains(secret)) }
            #expect(listed.body.contains(#""headerNames":["Authorization"]"#) && listed.body.contains(#""signed":true"#), "\(listed)")
            let database = try Data(contentsOf: URL(fileURLWithPath: fixture.directory.appending("data/cronium.sqlite")))
            for secret in [secretPath, "header-secret", "signing-secret"] { #expect(database.range(of: Data(secret.utf8)) == nil) }

            for name in ["ops-slack", "ops-discord", "ops-teams", "hook"] {
                let tested = try await send(client, admin, .post, "/api/v1/tools/\(name)/test")
                let result = try JSONDecoder().decode(DeliveryResult.self, from: Data(tested.body.utf8))
                #expect(
                    tested.status == 200 && result.delivered && result.attempts == 1 && result.status == 200 && result.response == "ok",
                    "\(tested)"
                )
            }
            let requests = received.all
            #expect(requests.map(\.path) == ["slack", "discord", "teams", "hook"].map { "/\($0)/\(secretPath)" })
            guard requests.count == 4 else { return }
            for request in requests { #expect(request.method == "POST" && request.headers["content-type"] == "application/json") }

            let slack = Self.json(requests[0].text)
            let attachment = (slack["attachments"] as? [[String: Any]])?.first
            #expect(slack["text"] as? String == "Cronium test message" && attachment?["color"] as? String == "#2EB67D", "\(requests[0].text)")
            #expect((attachment?["text"] as? String)?.contains("through the tool ops-slack") == true)
            let discord = Self.json(requests[1].text)
            let embed = (discord["embeds"] as? [[String: Any]])?.first
            #expect(discord["content"] as? String == "Cronium test message" && embed?["color"] as? Int == 0x2EB67D, "\(requests[1].text)")
            let teams = Self.json(requests[2].text)
            #expect(
                teams["@type"] as? String == "MessageCard" && teams["themeColor"] as? String == "2EB67D"
                    && teams["title"] as? String == "Cronium test message"
            )

            // The receiver checks the signature as the docs tell it to: HMAC-SHA256 of "timestamp.body".
            let hook = requests[3]
            let timestamp = try #require(hook.headers["x-cronium-timestamp"])
            let expected = HMAC<SHA256>.authenticationCode(
                for: Array("\(timestamp).".utf8) + hook.body,
                using: SymmetricKey(data: Array("signing-secret".utf8))
            )
            #expect(hook.headers["x-cronium-signature"] == "sha256=" + expected.map { String(format: "%02x", $0) }.joined())
            #expect(abs((Int(timestamp) ?? 0) - Int(Date().timeIntervalSince1970)) < 60)
            #expect(hook.headers["authorization"] == "Bearer header-secret" && Self.json(hook.text)["status"] as? String == "SUCCESS")
        }
    }

    @Test func aRefusalIsTriedAgainAfterItsRetryAfterAndOthersAreNot() async throws {
        let received = ReceivedRequests()
        let receiver = try await LocalHTTPServer.start { request in
            received.append(request)
            switch (request.path, received.all.filter { $0.path == request.path }.count) {
            case ("/busy", 1): return .init(429, headers: ["Retry-After": "2"], #"{"error":"slow down"}"#)
            case ("/broken", 1): return .init(503, "restarting")
            case ("/gone", _): return .init(404, "no such hook")
            default: return .init(200, "ok")
            }
        }
        defer { receiver.stop() }
        let fixture = try await ServerFixture()
        try await fixture.test(.live) { client in
            let admin = fixture.adminToken
            for path in ["busy", "broken", "gone"] {
                #expect(
                    try await send(
                        client,
                        admin,
                        .post,
                        "/api/v1/tools",
                        #"{"name": "\#(path)", "type": "WEBHOOK", "url": "\#(receiver.url)/\#(path)"}"#
                    ).status == 201
                )
            }
            let busy = try JSONDecoder().decode(
                DeliveryResult.self,
                from: Data(try await send(client, admin, .post, "/api/v1/tools/busy/test").body.utf8)
            )
            let tries = received.all.filter { $0.path == "/busy" }
            #expect(busy.delivered && busy.attempts == 2 && tries.count == 2, "\(busy)")
            if tries.count == 2 { #expect(tries[1].at - tries[0].at >= .seconds(2)) }

            let broken = try JSONDecoder().decode(
                DeliveryResult.self,
                from: Data(try await send(client, admin, .post, "/api/v1/tools/broken/test").body.utf8)
            )
            #expect(broken.delivered && broken.attempts == 2, "\(broken)")

            let gone = try JSONDecoder().decode(
                DeliveryResult.self,
                from: Data(try await send(client, admin, .post, "/api/v1/tools/gone/test").body.utf8)
            )
            #expect(!gone.delivered && gone.attempts == 1 && gone.status == 404, "\(gone)")
            #expect(gone.error == "http://127.0.0.1:\(receiver.port)/… answered 404 Not Found: no such hook", "\(gone)")
        }
    }

    @Test func badToolsAreRefusedAndOnlyOwnersChangeThem() async throws {
        let fixture = try await ServerFixture()
        try await fixture.test(.live) { client in
            let admin = fixture.adminToken
            let cases: [(String, Int, String)] = [
                (#"{"name": "a", "type": "SLACK", "urll": "http://x"}"#, 400, "unknown field 'urll'"),
                (#"{"name": "a", "type": "SLACK"}"#, 422, "url: a SLACK tool needs the URL to post to"),
                (#"{"name": "a", "type": "SLACK", "url": "ftp://x/secret"}"#, 422, "is not an http(s) URL"),
                (#"{"name": "a b", "type": "SLACK", "url": "http://x"}"#, 422, "is not a tool name"),
                (#"{"name": "a", "type": "WEBHOOK", "url": "http://x", "method": "GET"}"#, 422, "method: must be one of POST, PUT, PATCH"),
                (#"{"name": "a", "type": "WEBHOOK", "url": "http://x", "headers": {"X-Cronium-Signature": "x"}}"#, 422, "is set by Cronium"),
                (#"{"name": "a", "type": "SLACK", "url": "http://x", "signingSecret": "s"}"#, 422, "applies to WEBHOOK tools only"),
                (#"{"name": "a", "type": "EMAIL", "host": "smtp.example.com"}"#, 422, "from: is required: the sender"),
                (#"{"name": "a", "type": "SMS", "url": "http://x"}"#, 400, "SMS"),
            ]
            for (body, status, words) in cases {
                let answer = try await send(client, admin, .post, "/api/v1/tools", body)
                #expect(answer.status == status && answer.body.contains(words), "\(body): \(answer)")
            }
            #expect(try await send(client, admin, .get, "/api/v1/tools").body == "[]")

            let bo = try await makeUser(client, admin: admin, name: "bo", role: .user)
            #expect(
                try await send(client, admin, .post, "/api/v1/tools", #"{"name": "mine", "type": "SLACK", "url": "http://127.0.0.1:9/x"}"#).status
                    == 201
            )
            #expect(try await send(client, bo, .get, "/api/v1/tools/mine").status == 404)
            let refused = try await send(
                client,
                bo,
                .post,
                "/api/v1/tools",
                #"{"name": "theirs", "type": "SLACK", "url": "http://127.0.0.1:9/x", "shared": true}"#
            )
            #expect(refused.status == 403 && refused.body.contains("only administrators may share a tool"), "\(refused)")
            #expect(try await send(client, admin, .patch, "/api/v1/tools/mine", #"{"shared": true}"#).status == 200)
            #expect(try await send(client, bo, .get, "/api/v1/tools/mine").status == 200)
            let change = try await send(client, bo, .patch, "/api/v1/tools/mine", #"{"url": "http://127.0.0.1:9/y"}"#)
            #expect(change.status == 403 && change.body.contains("only they may change it"), "\(change)")
            #expect(try await send(client, bo, .delete, "/api/v1/tools/mine").status == 403)
            let retyped = try await send(client, admin, .patch, "/api/v1/tools/mine", #"{"type": "DISCORD"}"#)
            #expect(retyped.status == 422 && retyped.body.contains("a tool keeps its type"), "\(retyped)")
            #expect(try await send(client, admin, .delete, "/api/v1/tools/mine").status == 204)
            #expect(try await send(client, bo, .get, "/api/v1/tools/mine").status == 404)
        }
    }

    @Test func messagesAreTemplatesOverARun() async throws {
        let fixture = try await ServerFixture()
        try await fixture.test(.live) { client in
            let admin = fixture.adminToken
            let runs = RunsClient(client: client, token: admin)
            #expect(try await send(client, admin, .put, "/api/v1/variables/REGION", #"{"value": "eu-west"}"#).status == 201)
            #expect(try await send(client, admin, .put, "/api/v1/variables/TOKEN", #"{"value": "hush", "secret": true}"#).status == 201)
            let event = try await runs.create("nightly", .bash, #"echo "backing up <db>"; echo "done"; exit 3"#)
            let run = try await runs.run(event, body: #"{"input": {"host": "db-1"}}"#)
            #expect(run.status == .failure)

            let template = """
                {{event.name}} {{execution.status}} with {{execution.exitCode}} in {{execution.duration}}
                {{#execution.failed}}FAILED{{/execution.failed}}{{^execution.failed}}ok{{/execution.failed}} on {{input.host}}
                region {{variables.REGION}}, token '{{variables.TOKEN}}'
                {{execution.log}}
                """
            let body: [String: Any] = ["executionId": run.id.rawValue, "subject": "[{{execution.status}}] {{event.name}}", "message": template]
            let preview = try await send(client, admin, .post, "/api/v1/tools/preview", RemoteServerTests.body(body))
            #expect(preview.status == 200, "\(preview)")
            let rendered = Self.json(preview.body)
            #expect(rendered["subject"] as? String == "[FAILURE] nightly")
            let lines = (rendered["text"] as? String ?? "").split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            #expect(
                lines.count >= 5 && lines[0].hasPrefix("nightly FAILURE with 3 in ") && (lines[0].hasSuffix(" ms") || lines[0].hasSuffix(" s")),
                "\(lines)"
            )
            #expect(Array(lines.dropFirst()) == ["FAILED on db-1", "region eu-west, token ''", "backing up <db>", "done"], "\(lines)")

            // An HTML body escapes what the run printed; a template that does not parse is refused.
            let html = try await send(
                client,
                admin,
                .post,
                "/api/v1/tools/preview",
                RemoteServerTests.body(["executionId": run.id.rawValue, "message": "<p>{{execution.log}}</p>", "html": true])
            )
            #expect(Self.json(html.body)["text"] as? String == "<p>backing up &lt;db&gt;\ndone</p>", "\(html)")
            let broken = try await send(
                client,
                admin,
                .post,
                "/api/v1/tools/preview",
                RemoteServerTests.body(["executionId": run.id.rawValue, "message": "{{#open}} never closed"])
            )
            #expect(broken.status == 422 && broken.body.contains("message: is not a template Cronium can read"), "\(broken)")
            let bo = try await makeUser(client, admin: admin, name: "bo", role: .user)
            #expect(
                try await send(client, bo, .post, "/api/v1/tools/preview", RemoteServerTests.body(["executionId": run.id.rawValue, "message": "x"]))
                    .status == 404
            )
        }
    }

    @Test func actionsSendThroughToolsAndEachDeliveryIsRecorded() async throws {
        let (receiver, received) = try await LocalHTTPServer.recording { request in
            request.path == "/gone" ? .init(404, "no such hook") : .init(200, #"{"ok":true}"#)
        }
        defer { receiver.stop() }
        let fixture = try await ServerFixture()
        try await fixture.test(.live) { client in
            let admin = fixture.adminToken
            let runs = RunsClient(client: client, token: admin)
            for (name, path) in [("team", "slack"), ("gone", "gone")] {
                #expect(
                    try await send(
                        client,
                        admin,
                        .post,
                        "/api/v1/tools",
                        #"{"name": "\#(name)", "type": "SLACK", "url": "\#(receiver.url)/\#(path)"}"#
                    ).status == 201
                )
            }
            // Refused when saved: a tool that is not there, a template that does not parse.
            for (action, words) in [
                (#"{"when": "ALWAYS", "type": "SEND_MESSAGE", "tool": "nope", "message": "x"}"#, "actions[0].tool: there is no tool nope"),
                (#"{"when": "ALWAYS", "type": "SEND_MESSAGE", "tool": "team", "message": "{{#a}}"}"#, "actions[0].message: is not a template"),
            ] {
                let refused = try await send(
                    client,
                    admin,
                    .post,
                    "/api/v1/events",
                    #"{"name": "bad", "type": "BASH", "content": "true", "actions": [\#(action)]}"#
                )
                #expect(refused.status == 422 && refused.body.contains(words), "\(refused)")
            }
            let event = try await runs.create("deploy", .bash, "echo shipped v42") {
                $0.actions = [
                    EventAction(
                        when: .always,
                        type: .sendMessage,
                        tool: "team",
                        subject: "{{event.name}} {{execution.status}}",
                        message: "{{event.name}}: {{execution.log}}"
                    ),
                    EventAction(when: .onSuccess, type: .sendMessage, tool: "gone", message: "never arrives"),
                ]
            }
            let run = try await runs.run(event)
            #expect(run.status == .success)
            #expect(
                try await eventually(timeout: .seconds(30)) {
                    try await runs.execution(run.id).deliveries?.allSatisfy { $0.status != .pending } == true
                }
            )
            let shown = try await runs.execution(run.id)
            let deliveries = try #require(shown.deliveries)
            #expect(deliveries.map(\.status) == [.delivered, .failed] && deliveries.map(\.toolName) == ["team", "gone"], "\(deliveries)")
            #expect(deliveries[0].subject == "deploy SUCCESS" && deliveries[0].text == "deploy: shipped v42" && deliveries[0].attempts == 1)
            #expect(
                deliveries[1].answerStatus == 404 && deliveries[1].error?.hasSuffix("answered 404 Not Found: no such hook") == true,
                "\(deliveries[1])"
            )
            #expect(shown.actions?.map(\.status) == [.fired, .failed] && shown.actions?[1].error == deliveries[1].error)
            let slack = Self.json(try #require(received.all.first { $0.path == "/slack" }).text)
            #expect(slack["text"] as? String == "deploy SUCCESS")

            // Each tool's page lists its deliveries, newest first, to those who may see them.
            let listed = try await client.execute(uri: "/api/v1/tools/gone/deliveries", method: .get, headers: auth(admin)) {
                try decode([Delivery].self, $0)
            }
            #expect(listed.map(\.id) == [deliveries[1].id] && listed.first?.answerStatus == 404)
            let other = try await makeUser(client, admin: admin, name: "ola", role: .user)
            #expect(try await send(client, other, .get, "/api/v1/tools/gone/deliveries").status == 404)
            #expect(try await send(client, admin, .get, "/api/v1/tools/gone/deliveries?limit=0").status == 400)
        }
    }

    /// A message recorded but not yet sent when the server stopped goes out at the next start.
    @Test func aMessageLeftByAStoppedServerIsSentAtTheNextStart() async throws {
        let (receiver, received) = try await LocalHTTPServer.recording { request in .init(200, "ok") }
        defer { receiver.stop() }
        let directory = try TemporaryDirectory("deliveries")
        defer { directory.remove() }
        let first = try await Self.server(in: directory)
        let admin = try #require(try await first.store.user(id: 1))
        var tool = ToolInput()
        (tool.name, tool.type, tool.url) = ("team", .discord, "\(receiver.url)/discord")
        _ = try await first.engine.addTool(tool, by: admin)
        let event = try await first.engine.createEvent(
            {
                var input = EventInput()
                (input.name, input.type, input.content) = ("quiet", .bash, "true")
                return input
            }(),
            by: admin
        )
        // Recorded as a run's end records it, without the worker being told: the server stops first.
        let execution = try await first.store.enqueue(EnqueueRequest(eventId: event.id, trigger: .manual, runAt: Date()), now: Date())
        let firing = ActionFiring(
            position: 0,
            when: .always,
            type: .sendMessage,
            targetEventId: nil,
            executionId: nil,
            status: .sending,
            error: nil,
            firedAt: Date()
        )
        let message = Delivery(
            executionId: execution,
            actionPosition: 0,
            ownerId: admin.id,
            toolName: "team",
            subject: nil,
            text: "left behind",
            createdAt: Date()
        )
        _ = try await first.store.recordActions(of: execution, firings: [firing], runs: [], deliveries: [message], now: Date())
        await first.node.close()
        #expect(received.all.isEmpty)

        let second = try await Self.server(in: directory)
        try await buildApplication(second).test(.live) { (_: any TestClientProtocol) async throws in
            #expect(try await eventually(timeout: .seconds(30)) { try await second.store.deliveries(of: execution).first?.status == .delivered })
            #expect(try await second.store.actionFirings(of: execution).map(\.status) == [.fired])
        }
        await second.node.close()
        #expect(
            received.all.count == 1
                && (Self.json(received.all.first?.text ?? "")["embeds"] as? [[String: Any]])?.first?["description"] as? String == "left behind"
        )
    }

    /// A server on `directory`'s data, stopped by the test.
    static func server(in directory: TemporaryDirectory) async throws -> CroniumServer {
        var configuration = ServerConfiguration()
        configuration.engine.dataDirectory = directory.appending("data")
        configuration.engine.bcryptCost = 4
        configuration.port = 0
        var logger = Logger(label: "t")
        logger.logLevel = .warning
        return try await CroniumServer(configuration: configuration, logger: logger)
    }

    /// Twenty messages waiting for one tool's turns (one a second after a burst of ten) do not
    /// hold up a message through another tool, recorded after them.
    @Test func aFloodThroughOneToolDoesNotHoldUpAnother() async throws {
        let (receiver, received) = try await LocalHTTPServer.recording { request in .init(200, "ok") }
        defer { receiver.stop() }
        let directory = try TemporaryDirectory("flood")
        defer { directory.remove() }
        let first = try await Self.server(in: directory)
        let admin = try #require(try await first.store.user(id: 1))
        for (name, path) in [("flood", "flood"), ("alert", "alert")] {
            var tool = ToolInput()
            (tool.name, tool.type, tool.url) = (name, .webhook, "\(receiver.url)/\(path)")
            _ = try await first.engine.addTool(tool, by: admin)
        }
        var input = EventInput()
        (input.name, input.type, input.content) = ("chatty", .bash, "true")
        let event = try await first.engine.createEvent(input, by: admin)
        let execution = try await first.store.enqueue(EnqueueRequest(eventId: event.id, trigger: .manual, runAt: Date()), now: Date())
        let messages = (0..<20).map { "flood \($0)" } + ["the backup failed"]
        let deliveries = messages.map {
            Delivery(
                executionId: execution,
                actionPosition: nil,
                ownerId: admin.id,
                toolName: $0.hasPrefix("flood") ? "flood" : "alert",
                subject: nil,
                text: $0,
                createdAt: Date()
            )
        }
        _ = try await first.store.recordActions(of: execution, firings: [], runs: [], deliveries: deliveries, now: Date())
        await first.node.close()

        let second = try await Self.server(in: directory)
        try await buildApplication(second).test(.live) { (_: any TestClientProtocol) async throws in
            // Within the flood's burst, not after its turns (one more a second: 10 s for all of it).
            #expect(try await eventually(timeout: .seconds(20)) { received.all.contains { $0.path == "/alert" } })
            let all = received.all
            let alertAt = try #require(all.first { $0.path == "/alert" }?.at)
            #expect(all.filter { $0.path == "/flood" && $0.at < alertAt }.count <= 11, "\(all.map(\.path))")
        }
        await second.node.close()
    }

    @Test func aToolActionEventSendsItsMessage() async throws {
        let (receiver, received) = try await Self.receiver()
        defer { receiver.stop() }
        let fixture = try await ServerFixture()
        try await fixture.test(.live) { client in
            let admin = fixture.adminToken
            let runs = RunsClient(client: client, token: admin)
            for (name, path) in [("teams", "teams"), ("gone", "gone")] {
                #expect(
                    try await send(
                        client,
                        admin,
                        .post,
                        "/api/v1/tools",
                        #"{"name": "\#(name)", "type": "TEAMS", "url": "\#(receiver.url)/\#(path)"}"#
                    ).status == 201
                )
            }
            #expect(try await send(client, admin, .put, "/api/v1/variables/TEAM", #"{"value": "platform"}"#).status == 201)
            for (body, words) in [
                (#"{"name": "a", "type": "TOOL_ACTION"}"#, "toolAction: a TOOL_ACTION event needs"),
                (#"{"name": "a", "type": "TOOL_ACTION", "toolAction": {"tool": "nope", "message": "x"}}"#, "toolAction.tool: there is no tool nope"),
                (
                    #"{"name": "a", "type": "TOOL_ACTION", "toolAction": {"tool": "teams", "message": "x"}, "runLocation": "CONTAINER"}"#,
                    "TOOL_ACTION events are sent by the server itself"
                ),
                (
                    #"{"name": "a", "type": "BASH", "content": "true", "toolAction": {"tool": "teams", "message": "x"}}"#,
                    "toolAction: applies to TOOL_ACTION events only"
                ),
            ] {
                let refused = try await send(client, admin, .post, "/api/v1/events", body)
                #expect(refused.status == 422 && refused.body.contains(words), "\(body): \(refused)")
            }
            let announce = try await send(
                client,
                admin,
                .post,
                "/api/v1/events",
                #"{"name": "announce", "type": "TOOL_ACTION", "toolAction": {"tool": "teams", "subject": "Release {{input.version}}", "message": "{{input.version}} shipped by {{variables.TEAM}}"}}"#
            )
            #expect(announce.status == 201, "\(announce)")
            let event = try JSONDecoder.cronium.decode(Event.self, from: Data(announce.body.utf8))
            let run = try await runs.run(event, body: #"{"input": {"version": "2.4.0"}}"#)
            #expect(run.status == .success && run.exitCode == 200, "\(run)")
            #expect(
                run.deliveries?.map(\.status) == [.delivered] && run.deliveries?.first?.text == "2.4.0 shipped by platform",
                "\(String(describing: run.deliveries))"
            )
            let card = Self.json(try #require(received.all.first).text)
            #expect(card["title"] as? String == "Release 2.4.0" && card["text"] as? String == "2.4.0 shipped by platform")
            #expect(try await runs.log(run.id).contains("ok"))

            var input = EventInput()
            (input.name, input.type, input.toolAction) = ("lost", .toolAction, ToolActionSpec(tool: "gone", message: "nobody hears this"))
            let lost = try await runs.run(try await runs.create("lost", .toolAction, "") { $0 = input })
            #expect(
                lost.status == .failure && lost.errorCode == .httpStatus && lost.exitCode == 404 && lost.deliveries?.first?.status == .failed,
                "\(lost)"
            )
        }
    }

    /// However a delivery ends, no credential of the tool shows: not in the run's log, its error,
    /// its deliveries or actions, nor in any answer of the API.
    @Test func noCredentialAppearsInLogsErrorsOrAnswers() async throws {
        let receiver = try await LocalHTTPServer.start { _ in .init(404, "unknown hook") }
        defer { receiver.stop() }
        let fixture = try await ServerFixture()
        try await fixture.test(.live) { client in
            let admin = fixture.adminToken
            let runs = RunsClient(client: client, token: admin)
            let secrets = ["PATH-\(UUID().uuidString)", "HEADER-\(UUID().uuidString)", "SIGNING-\(UUID().uuidString)"]
            let added = try await send(
                client,
                admin,
                .post,
                "/api/v1/tools",
                #"{"name": "hook", "type": "WEBHOOK", "url": "\#(receiver.url)/\#(secrets[0])?token=\#(secrets[0])", "headers": {"X-Key": "\#(secrets[1])"}, "signingSecret": "\#(secrets[2])"}"#
            )
            #expect(added.status == 201)
            var input = EventInput()
            (input.name, input.type, input.toolAction) = ("notify", .toolAction, ToolActionSpec(tool: "hook", message: "hello"))
            input.actions = [EventAction(when: .always, type: .sendMessage, tool: "hook", message: "after {{event.name}}")]
            let event = try await runs.create("notify", .toolAction, "") { $0 = input }
            let run = try await runs.run(event)
            #expect(run.status == .failure && run.error?.contains("answered 404") == true, "\(run)")
            #expect(try await eventually(timeout: .seconds(30)) { try await runs.execution(run.id).actions?.first?.status == .failed })
            var seen = [try await runs.log(run.id).joined(separator: "\n")]
            for uri in [
                "/api/v1/executions/\(run.id)", "/api/v1/executions?eventId=\(event.id)", "/api/v1/tools", "/api/v1/tools/hook",
                "/api/v1/events/\(event.id)",
            ] {
                seen.append(try await send(client, admin, .get, uri).body)
            }
            seen.append(try await send(client, admin, .post, "/api/v1/tools/hook/test").body)
            #expect(seen[1].contains("answered 404 Not Found: unknown hook") && seen.last?.contains("unknown hook") == true, "\(seen)")
            for text in seen {
                for secret in secrets { #expect(!text.contains(secret), "\(secret) in \(text)") }
            }
        }
    }

    /// Scripts send through their owner's tools with the helpers of each language, without the
    /// network and without ever seeing a credential; another user's tool is not theirs to use.
    @Test func scriptsSendThroughTheirOwnersToolsInEveryLanguage() async throws {
        let (receiver, received) = try await Self.receiver()
        defer { receiver.stop() }
        let fixture = try await ServerFixture()
        try await fixture.test(.live) { client in
            let admin = fixture.adminToken
            let runs = RunsClient(client: client, token: admin)
            for (name, type, path) in [("team", "SLACK", "slack"), ("hook", "WEBHOOK", "hook"), ("gone", "WEBHOOK", "gone")] {
                #expect(
                    try await send(
                        client,
                        admin,
                        .post,
                        "/api/v1/tools",
                        #"{"name": "\#(name)", "type": "\#(type)", "url": "\#(receiver.url)/\#(path)"}"#
                    ).status == 201
                )
            }
            let bo = try await makeUser(client, admin: admin, name: "bo", role: .user)
            #expect(
                try await send(client, bo, .post, "/api/v1/tools", #"{"name": "theirs", "type": "SLACK", "url": "\#(receiver.url)/theirs"}"#).status
                    == 201
            )

            let python = try await runs.create(
                "py",
                .python,
                """
                import cronium
                answer = cronium.send_slack_message("from python", title="Py")
                cronium.execute_tool_action("hook", "send", {"message": "python action", "subject": "Act"})
                try:
                    cronium.send_message("gone", "lost")
                except cronium.CroniumError as error:
                    print("refused", error.status)
                try:
                    cronium.send_message("theirs", "not mine")
                except cronium.CroniumError as error:
                    print("refused", error.status)
                print("sent", answer["status"])
                """
            )
            let node = try await runs.create(
                "js",
                .nodejs,
                """
                const cronium = require('cronium');
                (async () => {
                  await cronium.sendSlackMessage('from node', { title: 'Node' });
                  await cronium.sendMessage('hook', 'node direct');
                  await cronium.executeToolAction('hook', 'send', { text: 'node action' });
                  console.log('sent');
                })();
                """
            )
            let bash = try await runs.create(
                "sh",
                .bash,
                """
                cronium_send_slack_message 'from "bash"' >/dev/null && cronium_send_message hook "bash direct" Bash >/dev/null \
                  && cronium_execute_tool_action hook send '{"message": "bash action"}' >/dev/null && echo sent
                cronium_send_message gone lost 2>/dev/null || echo "refused $?"
                """
            )
            for (event, expected) in [(python, ["refused 424", "refused 404", "sent 200"]), (node, ["sent"]), (bash, ["sent", "refused 1"])] {
                let run = try await runs.run(event)
                let log = try await runs.log(run.id)
                #expect(run.status == .success && log == expected, "\(event.name): \(run) \(log)")
            }
            let texts = received.all.map { "\($0.path) \($0.text)" }
            for expected in [
                #"/slack {"attachments":[{"fallback":"from python","text":"from python","title":"Py"}],"text":"Py"}"#,
                #"/hook {"subject":"Act","text":"python action"}"#, #"/hook {"text":"node direct"}"#, #"/hook {"text":"node action"}"#,
                #"/hook {"subject":"Bash","text":"bash direct"}"#, #"/hook {"text":"bash action"}"#,
            ] {
                #expect(texts.contains(expected), "\(expected) not in \(texts)")
            }
            #expect(texts.contains { $0.hasPrefix("/slack") && $0.contains(#"from \"bash\""#) }, "\(texts)")
            #expect(!texts.contains { $0.hasPrefix("/theirs") })
        }
    }

    /// A script's message that would wait longer than the server lets it is refused with `429`
    /// and `Retry-After`; the helper comes back then and the message goes. (A `409` would fail
    /// the script: the helpers retry only what is transient.)
    @Test func aScriptOverItsToolsPaceIsToldWhenToComeBack() async throws {
        let (receiver, received) = try await Self.receiver()
        defer { receiver.stop() }
        // One message every 4 s: a first message that reaches the receiver late on a loaded machine
        // still leaves the second well apart from it.
        let fixture = try await ServerFixture { $0.engine.toolLimits = ToolRateLimit(perSecond: 0.25, burst: 1, scriptWait: .milliseconds(100)) }
        try await fixture.test(.live) { client in
            let runs = RunsClient(client: client, token: fixture.adminToken)
            let tool = #"{"name": "hook", "type": "WEBHOOK", "url": "\#(receiver.url)/hook"}"#
            #expect(try await send(client, fixture.adminToken, .post, "/api/v1/tools", tool).status == 201)
            let script = try await runs.create(
                "paced",
                .python,
                """
                import cronium
                cronium.send_message("hook", "first")
                cronium.send_message("hook", "second")
                print("sent both")
                """
            )
            let run = try await runs.run(script)
            let log = try await runs.log(run.id)
            #expect(run.status == .success && log == ["sent both"], "\(run) \(log)")
            let times = received.all.filter { $0.path == "/hook" }.map(\.at)
            #expect(times.count == 2)
            // The second went at its turn, four seconds after the first: the helper waited as told.
            if times.count == 2 { #expect(times[1] - times[0] > .seconds(1.5), "\(times)") }
        }
    }
}

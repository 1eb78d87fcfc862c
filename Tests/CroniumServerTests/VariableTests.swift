import CroniumCore
import CroniumStore
import CroniumTesting
import Foundation
import HTTPTypes
import HummingbirdTesting
import HummingbirdWSTesting
import HummingbirdWebSocket
import Logging
import NIOCore
import Synchronization
import Testing

@testable import CroniumEngine
@testable import CroniumServer

/// Variables and secrets: the API, encryption at rest, what runs read and write, masking in
/// logs, the environment an event maps, import and export, and rotating the master key.
@Suite struct VariableTests {
    func put(_ client: any TestClientProtocol, _ token: String, _ key: String, _ body: String) async throws -> (status: Int, body: String) {
        try await client.execute(uri: "/api/v1/variables/\(key)", method: .put, headers: auth(token), body: ByteBuffer(string: body)) {
            ($0.status.code, String(buffer: $0.body))
        }
    }

    @Test func theAPIKeepsEachUsersVariablesAndHidesSecrets() async throws {
        let fixture = try await ServerFixture()
        try await fixture.test(.live) { client in
            let admin = fixture.adminToken
            #expect(try await put(client, admin, "REGION", #"{"value": "eu-west", "description": "where we run"}"#).status == 201)
            #expect(try await put(client, admin, "API_KEY", #"{"value": "sk-live-123456", "secret": true}"#).status == 201)
            #expect(try await put(client, admin, "REGION", #"{"value": "eu-central"}"#).status == 200)
            let list = try await client.execute(uri: "/api/v1/variables", method: .get, headers: auth(admin)) { try decode([Variable].self, $0) }
            #expect(list.map(\.key) == ["API_KEY", "REGION"])
            #expect(list[0].value == nil && list[0].secret)
            #expect(list[1].value == "eu-central" && list[1].description == "where we run")
            let hidden = try await client.execute(uri: "/api/v1/variables/API_KEY", method: .get, headers: auth(admin)) {
                try decode(Variable.self, $0)
            }
            #expect(hidden.value == nil)
            let shown = try await client.execute(uri: "/api/v1/variables/API_KEY?reveal=true", method: .get, headers: auth(admin)) {
                try decode(Variable.self, $0)
            }
            #expect(shown.value == "sk-live-123456")
            // A change of description keeps the secret's value.
            #expect(try await put(client, admin, "API_KEY", #"{"description": "the live key"}"#).status == 200)
            #expect(try await put(client, admin, "API_KEY", #"{"secret": false}"#).status == 422)

            // Bad input is refused and changes nothing.
            for (key, body, status, words) in [
                ("lower", #"{"value": "x"}"#, 422, "is not a key"), ("CRONIUM_X", #"{"value": "x"}"#, 422, "Cronium's own"),
                ("NEW", "{}", 422, "value: is required"), ("NEW", #"{"valeu": "x"}"#, 400, "unknown field 'valeu'"),
                ("BIG", #"{"value": "\#(String(repeating: "x", count: 70_000))"}"#, 422, "at most 64 KiB"),
            ] {
                let (got, answer) = try await put(client, admin, key, body)
                #expect(got == status && answer.contains(words), "\(key): \(answer)")
            }
            try await client.execute(uri: "/api/v1/variables/NOPE", method: .delete, headers: auth(admin)) { #expect($0.status == .notFound) }

            // Another user sees none of them, and has their own.
            let other = try await makeUser(client, admin: admin, name: "bo", role: .user)
            let theirs = try await client.execute(uri: "/api/v1/variables", method: .get, headers: auth(other)) { try decode([Variable].self, $0) }
            #expect(theirs.isEmpty)
            try await client.execute(uri: "/api/v1/variables/API_KEY?reveal=true", method: .get, headers: auth(other)) {
                #expect($0.status == .notFound)
            }
            let viewer = try await makeUser(client, admin: admin, name: "vi", role: .viewer)
            #expect(try await put(client, viewer, "MINE", #"{"value": "x"}"#).status == 403)

            // At rest, a secret is sealed; the plain value is nowhere in the database file.
            let row = try #require(try await fixture.server.store.variable(ownerId: 1, key: "API_KEY"))
            #expect(row.storedValue.hasPrefix("v1:") && !row.storedValue.contains("sk-live"))
            let file = try Data(contentsOf: URL(fileURLWithPath: fixture.directory.appending("data/cronium.sqlite")))
            #expect(file.range(of: Data("sk-live-123456".utf8)) == nil)
            let key = try FileManager.default.attributesOfItem(atPath: fixture.directory.appending("data/master.key"))
            #expect((key[.posixPermissions] as? NSNumber)?.intValue == 0o600)

            try await client.execute(uri: "/api/v1/variables/REGION", method: .delete, headers: auth(admin)) { #expect($0.status == .noContent) }
        }
    }

    /// A Python run writes variables, a Node.js and a Bash run read them; secrets a script
    /// prints are masked in the stored and the streamed log, even when written in two pieces.
    @Test func runsReadAndWriteVariablesAndSecretsStayMasked() async throws {
        let fixture = try await ServerFixture()
        try await fixture.test(.live) { client in
            let runs = RunsClient(client: client, token: fixture.adminToken)
            #expect(try await put(client, fixture.adminToken, "DB_PASSWORD", #"{"value": "hunter2-very-secret", "secret": true}"#).status == 201)
            #expect(
                try await put(
                    client,
                    fixture.adminToken,
                    "PEM",
                    #"{"value": "-----BEGIN KEY-----\nAAAA1111\nBBBB2222\n-----END KEY-----", "secret": true}"#
                ).status == 201
            )
            let writer = try await runs.create(
                "writer",
                .python,
                """
                import cronium
                cronium.set_variable("GREETING", "hello from python")
                cronium.set_variable("COUNT", 3)
                cronium.setVariable("TEMP", "gone soon")
                cronium.delete_variable("TEMP")
                print("missing:", cronium.get_variable("TEMP", "default"))
                cronium.set_variable("DB_PASSWORD", "rotated-secret-value")
                print("new password is", cronium.get_variable("DB_PASSWORD"))
                try:
                    cronium.set_variable("bad key", "x")
                except cronium.CroniumError as error:
                    print("refused:", error.status)
                """
            )
            let wrote = try await runs.run(writer)
            #expect(wrote.status == .success)
            #expect(try await runs.log(wrote.id) == ["missing: default", "new password is ***", "refused: 422"])

            let reader = try await runs.create(
                "reader",
                .nodejs,
                """
                const cronium = require('cronium');
                (async () => {
                  console.log(await cronium.getVariable('GREETING'), await cronium.getVariable('COUNT'), await cronium.getVariable('NOPE', 'fallback'));
                })();
                """
            )
            let read = try await runs.run(reader)
            #expect(try await runs.log(read.id) == ["hello from python 3 fallback"])

            let bash = try await runs.create(
                "bash",
                .bash,
                """
                echo "greeting: $(cronium_get_variable GREETING)"
                cronium_get_variable NOPE; echo "missing: $?"
                cronium_set_variable NOTE 'line with "quotes" and $dollar'
                echo "note: $(cronium_getVariable NOTE)"
                printf 'password: %s\\n' "$(cronium_get_variable DB_PASSWORD)"
                printf 'split: rotated-se'; sleep 0.2; printf 'cret-value end\\n'
                cronium_get_variable PEM
                """
            )
            let id = try await runs.start(bash)
            // The streamed log, followed from the start.
            let streamed = Mutex<[String]>([])
            _ = try await client.ws("/api/v1/executions/\(id)/logs/stream?token=\(fixture.adminToken)") { inbound, outbound, _ in
                try await outbound.write(.text("start"))
                for try await message in inbound.messages(maxSize: 1 << 20) {
                    if case WebSocketMessage.text(let text) = message { streamed.withLock { $0.append(text) } }
                }
            }
            #expect(try await runs.ended(id).status == .success)
            let stored = try await runs.log(id)
            #expect(
                stored == [
                    "greeting: hello from python", "missing: 4", #"note: line with "quotes" and $dollar"#, "password: ***", "split: *** end",
                    // A secret of several lines is masked line by line, its frame included.
                    "***", "***", "***", "***",
                ]
            )
            let all = streamed.withLock { $0.joined(separator: "\n") }
            #expect(all.contains("password: ***") && all.contains("split: *** end") && !all.contains("rotated-secret") && !all.contains("AAAA1111"))
        }
    }

    /// An event maps variables into its environment: they must exist when it is saved, and a run
    /// whose variable has gone since fails before it starts, saying which.
    @Test func anEventMapsVariablesIntoItsEnvironment() async throws {
        let fixture = try await ServerFixture()
        try await fixture.test(.live) { client in
            let runs = RunsClient(client: client, token: fixture.adminToken)
            #expect(
                try await put(client, fixture.adminToken, "PROD_DB", #"{"value": "postgres://app:pw-12345@db/app", "secret": true}"#).status == 201
            )
            #expect(try await put(client, fixture.adminToken, "REGION", #"{"value": "eu-west"}"#).status == 201)
            var missing = EventInput()
            missing.name = "missing"
            missing.type = .bash
            missing.content = "true"
            missing.variables = ["DB": "NOPE"]
            try await client.execute(uri: "/api/v1/events", method: .post, headers: auth(fixture.adminToken), body: try json(missing)) { response in
                #expect(response.status == .unprocessableContent)
                let problem = try decode(ProblemBody.self, response)
                #expect(
                    problem.errors?.first
                        == .init(field: "variables.DB", message: "there is no variable NOPE (of the event's owner); create it first")
                )
            }
            let event = try await runs.create("env", .bash, "echo \"db=$DATABASE_URL region=$REGION\"") {
                $0.variables = ["DATABASE_URL": "PROD_DB", "REGION": "REGION"]
            }
            let ran = try await runs.run(event)
            #expect(try await runs.log(ran.id) == ["db=*** region=eu-west"])
            try await client.execute(uri: "/api/v1/variables/REGION", method: .delete, headers: auth(fixture.adminToken)) { _ in }
            let failed = try await runs.run(event)
            #expect(failed.status == .failure && failed.errorCode == .startFailed)
            #expect(failed.error == "variables.REGION: there is no variable REGION any more; create it again or change the event")
        }
    }

    @Test func variablesGoOutAndComeBackAsJSONAndDotEnv() async throws {
        let fixture = try await ServerFixture()
        try await fixture.test(.live) { client in
            let admin = fixture.adminToken
            func send(_ uri: String, _ body: String, type: String = "application/json") async throws -> (Int, String) {
                try await client.execute(
                    uri: uri,
                    method: .post,
                    headers: [.authorization: "Bearer \(admin)", .contentType: type],
                    body: ByteBuffer(string: body)
                ) {
                    ($0.status.code, String(buffer: $0.body))
                }
            }
            let dotEnv = "# a comment\nexport PLAIN=one two\nQUOTED=\"line\\nbreak \\\"q\\\"\"\n# secret\nTOKEN='s3cr3t-token'\n"
            let (status, report) = try await send("/api/v1/variables/import", dotEnv, type: "text/plain")
            #expect(status == 200 && report.contains(#""created":["PLAIN","QUOTED","TOKEN"]"#), "\(report)")
            let token = try await client.execute(uri: "/api/v1/variables/TOKEN?reveal=true", method: .get, headers: auth(admin)) {
                try decode(Variable.self, $0)
            }
            #expect(token.secret && token.value == "s3cr3t-token")

            let plainOnly = try await client.execute(uri: "/api/v1/variables/export?format=env", method: .get, headers: auth(admin)) {
                String(buffer: $0.body)
            }
            #expect(plainOnly == "PLAIN=\"one two\"\nQUOTED=\"line\\nbreak \\\"q\\\"\"\n")
            let everything = try await client.execute(
                uri: "/api/v1/variables/export?format=env&includeSecrets=true",
                method: .get,
                headers: auth(admin)
            ) { String(buffer: $0.body) }
            #expect(everything.hasSuffix("# secret\nTOKEN=\"s3cr3t-token\"\n"))
            let asJSON = try await client.execute(uri: "/api/v1/variables/export?includeSecrets=true", method: .get, headers: auth(admin)) {
                String(buffer: $0.body)
            }

            // Into another user's (empty) variables: the same, secrets included.
            let other = try await makeUser(client, admin: admin, name: "cy", role: .user)
            try await client.execute(
                uri: "/api/v1/variables/import",
                method: .post,
                headers: [.authorization: "Bearer \(other)", .contentType: "application/json"],
                body: ByteBuffer(string: asJSON)
            ) { #expect($0.status == .ok) }
            let copied = try await client.execute(uri: "/api/v1/variables/export?format=env&includeSecrets=true", method: .get, headers: auth(other))
            { String(buffer: $0.body) }
            #expect(copied == everything)

            // All or nothing: one bad entry, and nothing is stored.
            let (bad, problem) = try await send(
                "/api/v1/variables/import",
                #"{"variables": [{"key": "FINE", "value": "1"}, {"key": "not ok", "value": "2"}, {"key": "FINE", "value": "3"}]}"#
            )
            #expect(bad == 422 && problem.contains("variables[1].key") && problem.contains("variables[2].key"))
            let (dry, dryReport) = try await send(
                "/api/v1/variables/import?dryRun=true",
                #"[{"key": "FINE", "value": "1"}, {"key": "PLAIN", "value": "changed"}]"#
            )
            #expect(dry == 200 && dryReport.contains(#""dryRun":true"#) && dryReport.contains(#""updated":["PLAIN"]"#))
            let after = try await client.execute(uri: "/api/v1/variables", method: .get, headers: auth(admin)) { try decode([Variable].self, $0) }
            #expect(after.map(\.key) == ["PLAIN", "QUOTED", "TOKEN"] && after[0].value == "one two")
            let (unreadable, why) = try await send("/api/v1/variables/import", "JUST A LINE", type: "text/plain")
            #expect(unreadable == 400 && why.contains("line 1: expected KEY=value"))
        }
    }

    /// `cronium secrets rotate-key` re-seals every secret with a new key; a rotation cut short
    /// is finished by the next start.
    @Test func rotatingTheMasterKeyKeepsEverySecret() async throws {
        let directory = try TemporaryDirectory("rotate")
        defer { directory.remove() }
        let data = directory.appending("data")
        var logger = Logger(label: "t")
        logger.logLevel = .warning
        func server() async throws -> CroniumServer {
            var configuration = ServerConfiguration()
            configuration.engine.dataDirectory = data
            configuration.engine.bcryptCost = 4
            configuration.port = 0
            return try await CroniumServer(configuration: configuration, logger: logger)
        }
        let first = try await server()
        _ = try #require(first.node.initialAdmin)
        let admin = try #require(try await first.store.user(id: 1))
        _ = try await first.engine.setVariable(key: "ONE", VariableInput(value: "first secret", secret: true), by: admin)
        _ = try await first.engine.setVariable(key: "TWO", VariableInput(value: "second secret", secret: true), by: admin)
        _ = try await first.engine.setVariable(key: "PLAIN", VariableInput(value: "plain"), by: admin)
        var hook = ToolInput()
        (hook.name, hook.type, hook.url, hook.signingSecret) = ("hook", .webhook, "http://127.0.0.1:9/hook-path", "tool secret")
        _ = try await first.engine.addTool(hook, by: admin)
        let oldKey = try Data(contentsOf: URL(fileURLWithPath: "\(data)/master.key"))
        do {
            _ = try await MasterKey.rotate(dataDirectory: data, logger: logger)
            Issue.record("rotated while the server held the data directory")
        } catch {
            #expect("\(error)".contains("in use by another Cronium server"))
        }
        await first.node.close()

        let (count, keyId) = try await MasterKey.rotate(dataDirectory: data, logger: logger)
        #expect(count == 3)
        let newKey = try Data(contentsOf: URL(fileURLWithPath: "\(data)/master.key"))
        #expect(newKey != oldKey && !FileManager.default.fileExists(atPath: "\(data)/master.key.new"))

        let second = try await server()
        #expect(try await second.engine.variable(key: "ONE", of: admin, reveal: true).value == "first secret")
        #expect(try await second.store.allSealedValues().allSatisfy { $0.storedValue.hasPrefix("v1:\(keyId):") })
        let stored = try #require(try await second.store.tool(named: "hook", usableBy: admin.id))
        #expect(try await second.engine.openTool(stored.sealedCredential).signingSecret == "tool secret")

        // A rotation cut short after its new key was written: the next start finishes it.
        let thirdKey = Data((0..<32).map { _ in UInt8.random(in: 0...255) })
        _ = FileManager.default.createFile(atPath: "\(data)/master.key.new", contents: thirdKey, attributes: [.posixPermissions: 0o600])
        await second.node.close()
        let third = try await server()
        #expect(try await third.engine.variable(key: "TWO", of: admin, reveal: true).value == "second secret")
        #expect(try Data(contentsOf: URL(fileURLWithPath: "\(data)/master.key")) == thirdKey)
        await third.node.close()
    }
}

import CroniumCore
import CroniumEngine
import CroniumExecutors
import CroniumStore
import CroniumTesting
import Foundation
import HTTPTypes
import HummingbirdTesting
import Logging
import NIOCore
import Testing

@testable import CroniumServer

/// What the API and the start-up say about the boundary, and the rules for limits and paths.
@Suite struct SandboxAPITests {
    @Test func readyListsEveryProtection() async throws {
        let fixture = try await ServerFixture()
        try await fixture.test(.live) { client in
            struct Ready: Decodable { let status: String; let sandbox: [Isolation.Protection] }
            try await client.execute(uri: "/ready", method: .get) { response in
                let ready = try decode(Ready.self, response)
                let names = ready.sandbox.map(\.name)
                #expect(names == ["bubblewrap sandbox", "seccomp filter", "run user", "memory and process limits", "work directory size cap"])
                // scripts/test.sh installs bubblewrap, so the boundary must be complete here.
                #expect(ready.sandbox.first { $0.name == "bubblewrap sandbox" }?.active == true)
                let missing = ready.sandbox.filter { !$0.active }
                if getuid() == 0 { #expect(missing.isEmpty) }
            }
        }
    }

    @Test func aRequiredSandboxThatCannotBeBuiltStopsTheServer() async throws {
        let directory = try TemporaryDirectory("required")
        defer { directory.remove() }
        var configuration = ServerConfiguration()
        configuration.engine.dataDirectory = directory.appending("data")
        configuration.engine.bcryptCost = 4
        configuration.engine.sandbox = .required
        // Tests run side by side: no fixed port (the start checks that its port is free).
        configuration.port = 0
        configuration.engine.bwrap = "/nonexistent/bwrap"
        do {
            _ = try await CroniumServer(configuration: configuration, logger: Logger(label: "t"))
            Issue.record("the server started without its sandbox")
        } catch {
            #expect("\(error)".contains("--sandbox required") && "\(error)".contains("/nonexistent/bwrap"))
        }
    }

    @Test func limitsAndReadOnlyPathsAreChecked() async throws {
        let fixture = try await ServerFixture()
        try await fixture.test { client in
            let admin = fixture.adminToken
            let editor = try await makeUser(client, admin: admin, name: "ed", role: .user)
            func create(_ token: String, _ body: String) async throws -> (status: Int, body: String) {
                try await client.execute(uri: "/api/v1/events", method: .post, headers: auth(token), body: .init(string: body)) {
                    ($0.status.code, String(buffer: $0.body))
                }
            }
            let tooMuch = try await create(admin, #"{"name":"big","type":"BASH","content":"true","limits":{"memoryMB":999999,"processes":2}}"#)
            #expect(tooMuch.status == 422)
            #expect(tooMuch.body.contains("limits.memoryMB") && tooMuch.body.contains("limits.processes"))
            let byEditor = try await create(editor, #"{"name":"peek","type":"BASH","content":"true","readOnlyPaths":["/usr/share"]}"#)
            #expect(byEditor.status == 403 && byEditor.body.contains("only administrators"))
            let dataDirectory = fixture.server.configuration.engine.dataDirectory
            let intoData = try await create(admin, #"{"name":"peek","type":"BASH","content":"true","readOnlyPaths":["\#(dataDirectory)"]}"#)
            #expect(intoData.status == 422 && intoData.body.contains("data directory"))
            let missing = try await create(admin, #"{"name":"peek","type":"BASH","content":"true","readOnlyPaths":["/no/such/reference"]}"#)
            #expect(missing.status == 422 && missing.body.contains("'/no/such/reference' does not exist on this server"), "\(missing.body)")
            let fine = try await create(
                admin,
                #"{"name":"ok","type":"BASH","content":"true","limits":{"memoryMB":128},"readOnlyPaths":["/usr/share"]}"#
            )
            #expect(fine.status == 201)
            let stored = try await fixture.server.store.events().map(\.name)
            #expect(stored == ["ok"])
        }
    }

    @Test(.enabled(if: getuid() == 0, "per-run cgroups need root here"))
    func aRunOverItsProcessLimitIsRecordedWithItsCode() async throws {
        try await withEngine { harness in
            let event = try await harness.createEvent {
                $0.content = "bomb() { bomb | bomb & }; bomb; sleep 30"
                $0.limits = RunLimits(processes: 16)
            }
            let id = try await harness.engine.enqueue(eventId: event.id, trigger: .manual, triggeredBy: nil)
            let execution = try await harness.finished(id)
            #expect(execution.status == .failure)
            #expect(execution.errorCode == .tooManyProcesses)
            #expect(execution.error?.contains("too many processes") == true)
        }
    }
}

import CroniumCore
import CroniumTesting
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

@testable import CroniumServer

/// Events that set each other off: the chain the runtime helpers feed, the order and the
/// conditions of actions, retries, cycles refused at save, the depth guard, and messages that
/// cannot go out yet.
@Suite struct ConditionalActionTests {
    /// A Python run sets an output and its condition; its ON_CONDITION Node.js event gets that
    /// output as input and writes a variable, which the Bash event it runs on success reads. All
    /// in the sandbox, with its network on and off.
    @Test(arguments: [false, true]) func aChainPassesOutputsAndVariablesAlong(network: Bool) async throws {
        let fixture = try await ServerFixture()
        try await fixture.test(.live) { client in
            let runs = RunsClient(client: client, token: fixture.adminToken)
            func create(_ name: String, _ type: EventType, _ script: String, configure: (inout EventInput) -> Void = { _ in }) async throws -> Event {
                try await runs.create(name, type, script, network: network, configure: configure)
            }
            let reader = try await create("reader", .bash, #"echo "result $(cronium_get_variable CHAIN_RESULT) from input $(cronium_input)""#)
            let doubler = try await create(
                "doubler",
                .nodejs,
                """
                const cronium = require('cronium');
                (async () => {
                  const given = await cronium.input();
                  const context = await cronium.event();
                  console.log('got', JSON.stringify(given), 'by', context.trigger);
                  await cronium.setVariable('CHAIN_RESULT', given.n * 2);
                  await cronium.output({ doubled: given.n * 2 });
                })();
                """
            ) { $0.actions = [EventAction(when: .onSuccess, type: .runEvent, eventId: reader.id)] }
            let never = try await create("never", .bash, "echo should not run")
            let start = try await create(
                "start",
                .python,
                """
                import cronium
                cronium.output({"n": 21})
                cronium.set_condition(True)
                """
            ) {
                $0.actions = [
                    EventAction(when: .onCondition, type: .runEvent, eventId: doubler.id),
                    EventAction(when: .onFailure, type: .runEvent, eventId: never.id),
                ]
            }
            let first = try await runs.run(start)
            #expect(first.status == .success && first.condition == true)
            let firings = try await runs.actions(first.id)
            #expect(firings.count == 1 && firings[0].when == .onCondition && firings[0].status == .fired && firings[0].targetEventId == doubler.id)
            let second = try await runs.ended(try #require(firings[0].executionId))
            #expect(second.status == .success && second.trigger == .action && second.parentExecutionId == first.id && second.chainDepth == 1)
            #expect(second.input == .object(["n": .integer(21)]))
            #expect(try await runs.log(second.id) == [#"got {"n":21} by ACTION"#])
            let third = try await runs.ended(try #require(try await runs.actions(second.id).first?.executionId))
            #expect(try await runs.log(third.id) == [#"result 42 from input {"doubled":42}"#])
            #expect(third.chainDepth == 2 && third.actions == nil)
            let neverRuns = try await client.execute(uri: "/api/v1/executions?eventId=\(never.id)", method: .get, headers: auth(fixture.adminToken)) {
                try decode([Execution].self, $0)
            }
            #expect(neverRuns.isEmpty)
        }
    }

    @Test func actionsFireInOrderOnceOnTheFinalOutcome() async throws {
        let (receiver, received) = try await LocalHTTPServer.recording { request in .init(200, "ok") }
        defer { receiver.stop() }
        let fixture = try await ServerFixture()
        try await fixture.test(.live) { client in
            let runs = RunsClient(client: client, token: fixture.adminToken)
            #expect(
                try await send(
                    client,
                    fixture.adminToken,
                    .post,
                    "/api/v1/tools",
                    #"{"name": "ops", "type": "WEBHOOK", "url": "\#(receiver.url)/ops"}"#
                ).status == 201
            )
            let note = try await runs.create("note", .bash, "cronium_input")
            let flaky = try await runs.create(
                "flaky",
                .python,
                "import cronium\nattempt = cronium.event()['attempt']\ncronium.output({'attempt': attempt})\nprint('attempt', attempt)\nraise SystemExit(1)"
            ) {
                $0.retries = 2
                $0.retryBackoffSeconds = 0
                $0.actions = [
                    EventAction(when: .onFailure, type: .runEvent, eventId: note.id),
                    EventAction(when: .always, type: .runEvent, eventId: note.id),
                    EventAction(when: .onSuccess, type: .runEvent, eventId: note.id),
                    EventAction(
                        when: .onFailure,
                        type: .sendMessage,
                        tool: "ops",
                        subject: "{{event.name}}",
                        message: "{{event.name}} failed on attempt {{execution.attempt}}"
                    ),
                ]
            }
            _ = try await runs.start(flaky)
            var attempts: [Execution] = []
            for _ in 0..<600 {
                attempts = try await client.execute(uri: "/api/v1/executions?eventId=\(flaky.id)", method: .get, headers: auth(fixture.adminToken)) {
                    try decode([Execution].self, $0)
                }
                if attempts.count == 3 && attempts.allSatisfy({ $0.status.isFinal }) { break }
                try await Task.sleep(for: .milliseconds(25))
            }
            #expect(attempts.map(\.attempt).sorted() == [1, 2, 3])
            // Only the last attempt set anything off; the earlier ones were tried again.
            for attempt in attempts where attempt.attempt < 3 { #expect(try await runs.execution(attempt.id).actions == nil) }
            let firings = try await runs.actions(try #require(attempts.first { $0.attempt == 3 }).id)
            #expect(firings.map(\.when) == [.always, .onFailure, .onFailure])
            #expect(firings.map(\.status).prefix(2) == [.fired, .fired] && firings[2].type == .sendMessage)
            // The message goes out once, rendered over the final attempt, and its action is then fired.
            let last = try #require(attempts.first { $0.attempt == 3 }).id
            #expect(try await eventually(timeout: .seconds(30)) { try await runs.execution(last).deliveries?.first?.status == .delivered })
            let shown = try await runs.execution(last)
            #expect(shown.actions?.map(\.status) == [.fired, .fired, .fired] && shown.deliveries?.first?.answerStatus == 200, "\(shown)")
            #expect(received.all.map(\.text) == [#"{"status":"FAILURE","subject":"flaky","text":"flaky failed on attempt 3"}"#])
            for firing in firings.prefix(2) {
                let ran = try await runs.ended(try #require(firing.executionId))
                #expect(try await runs.log(ran.id) == [#"{"attempt":3}"#])
            }
            let noteRuns = try await client.execute(uri: "/api/v1/executions?eventId=\(note.id)", method: .get, headers: auth(fixture.adminToken)) {
                try decode([Execution].self, $0)
            }
            #expect(noteRuns.count == 2)
        }
    }

    @Test func actionsThatWouldRunForeverAreRefused() async throws {
        let fixture = try await ServerFixture()
        try await fixture.test(.live) { client in
            let runs = RunsClient(client: client, token: fixture.adminToken)
            let a = try await runs.create("a", .bash, "true")
            let b = try await runs.create("b", .bash, "true") { $0.actions = [EventAction(when: .always, type: .runEvent, eventId: a.id)] }
            let c = try await runs.create("c", .bash, "true") { $0.actions = [EventAction(when: .onSuccess, type: .runEvent, eventId: b.id)] }
            func update(_ id: EventID, _ actions: String) async throws -> (Int, ProblemBody) {
                try await client.execute(
                    uri: "/api/v1/events/\(id)",
                    method: .patch,
                    headers: auth(fixture.adminToken),
                    body: ByteBuffer(string: #"{"actions": \#(actions)}"#)
                ) { ($0.status.code, try decode(ProblemBody.self, $0)) }
            }
            let (status, problem) = try await update(a.id, #"[{"when": "on_condition", "type": "RUN_EVENT", "eventId": \#(c.id)}]"#)
            #expect(status == 422)
            #expect(problem.errors?.first?.message == "these actions would run forever: 'a' (1) → 'c' (3) → 'b' (2) → 'a' (1)")
            let (selfStatus, selfProblem) = try await update(a.id, #"[{"when": "ALWAYS", "type": "RUN_EVENT", "eventId": \#(a.id)}]"#)
            #expect(selfStatus == 422 && selfProblem.errors?.first?.message == "an event cannot run itself")
            let (missing, missingProblem) = try await update(a.id, #"[{"when": "ALWAYS", "type": "RUN_EVENT", "eventId": 99}]"#)
            #expect(missing == 422 && missingProblem.errors?.first?.field == "actions[0].eventId")
            let (typo, _) = try await update(a.id, #"[{"when": "SOMETIMES", "type": "RUN_EVENT", "eventId": 2}]"#)
            #expect(typo == 400)
            // Nothing was changed by the refusals.
            let stored = try await client.execute(uri: "/api/v1/events/\(a.id)", method: .get, headers: auth(fixture.adminToken)) {
                try decode(Event.self, $0)
            }
            #expect(stored.actions == nil)

            // An export names the events actions run; an import resolves the names again.
            let exported = try await client.execute(uri: "/api/v1/events/export", method: .get, headers: auth(fixture.adminToken)) {
                String(buffer: $0.body)
            }
            #expect(exported.contains(#""eventName":"a""#) && !exported.contains(#""eventId""#))
            try await client.execute(
                uri: "/api/v1/events/import",
                method: .post,
                headers: auth(fixture.adminToken),
                body: ByteBuffer(string: exported)
            ) {
                #expect($0.status == .ok)
            }
        }
    }

    /// An import into an empty server: actions name events the same document creates.
    @Test func anImportResolvesActionsAmongTheEventsItCreates() async throws {
        let fixture = try await ServerFixture()
        try await fixture.test(.live) { client in
            func importing(_ body: String, dryRun: Bool = false) async throws -> (Int, String) {
                try await client.execute(
                    uri: "/api/v1/events/import\(dryRun ? "?dryRun=true" : "")",
                    method: .post,
                    headers: auth(fixture.adminToken),
                    body: ByteBuffer(string: body)
                ) { ($0.status.code, String(buffer: $0.body)) }
            }
            let cycle =
                #"{"events": [{"name": "x", "type": "BASH", "content": "true", "actions": [{"when": "ALWAYS", "type": "RUN_EVENT", "eventName": "y"}]}, {"name": "y", "type": "BASH", "content": "true", "actions": [{"when": "ALWAYS", "type": "RUN_EVENT", "eventName": "x"}]}]}"#
            let (refused, problem) = try await importing(cycle)
            #expect(refused == 422 && problem.contains("these actions would run forever"), "\(problem)")
            let (unknown, unknownProblem) = try await importing(
                #"[{"name": "z", "type": "BASH", "content": "true", "actions": [{"when": "ALWAYS", "type": "RUN_EVENT", "eventName": "nope"}]}]"#
            )
            #expect(unknown == 422 && unknownProblem.contains("you have no event named 'nope'"))
            let none = try await client.execute(uri: "/api/v1/events", method: .get, headers: auth(fixture.adminToken)) {
                try decode([Event].self, $0)
            }
            #expect(none.isEmpty)

            let chain =
                #"{"events": [{"name": "first", "type": "BASH", "content": "echo one", "actions": [{"when": "ON_SUCCESS", "type": "RUN_EVENT", "eventName": "second"}]}, {"name": "second", "type": "BASH", "content": "cronium_input"}]}"#
            #expect(try await importing(chain, dryRun: true).0 == 200)
            let (status, report) = try await importing(chain)
            #expect(status == 200, "\(report)")
            let events = try await client.execute(uri: "/api/v1/events", method: .get, headers: auth(fixture.adminToken)) {
                try decode([Event].self, $0)
            }
            let first = try #require(events.first { $0.name == "first" })
            let second = try #require(events.first { $0.name == "second" })
            #expect(first.actions == [EventAction(when: .onSuccess, type: .runEvent, eventId: second.id)])
            let runs = RunsClient(client: client, token: fixture.adminToken)
            let ran = try await runs.run(first)
            let next = try await runs.ended(try #require(try await runs.actions(ran.id).first?.executionId))
            #expect(next.eventId == second.id && next.status == .success)
        }
    }

    /// Chains through other users' shared events cannot be checked for cycles by one user's
    /// save alone as well as at run time, so a chain stops at its depth limit, saying so.
    @Test func aLongChainStopsAtItsDepthLimit() async throws {
        let fixture = try await ServerFixture()
        try await fixture.test(.live) { client in
            let runs = RunsClient(client: client, token: fixture.adminToken)
            var next = try await runs.create("link 12", .bash, "true")
            for number in stride(from: 11, through: 1, by: -1) {
                let target = next.id
                next = try await runs.create("link \(number)", .bash, "true") {
                    $0.actions = [EventAction(when: .always, type: .runEvent, eventId: target)]
                }
            }
            var execution = try await runs.run(next)
            for _ in 0..<EventAction.maxChainDepth {
                execution = try await runs.ended(try #require(try await runs.actions(execution.id).first?.executionId))
            }
            #expect(execution.chainDepth == EventAction.maxChainDepth)
            let stopped = try #require(try await runs.actions(execution.id).first)
            #expect(
                stopped.status == .failed && stopped.error == "a chain may start at most 10 runs one after another through actions; it stops here"
            )
        }
    }
}

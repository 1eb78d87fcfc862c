import CroniumCore
import CroniumTesting
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

@testable import CroniumServer

@Suite struct EventAPITests {
    @Test func invalidInputIsAProblemNamingEachFieldAndChangesNothing() async throws {
        let fixture = try await ServerFixture()
        try await fixture.test { client in
            let body =
                #"{"name":"","type":"BASH","retries":11,"timeoutValue":0,"triggerType":"SCHEDULE","schedule":{"kind":"cron","cron":"61 * * * *"},"environment":{"1BAD":"x"}}"#
            try await client.execute(uri: "/api/v1/events", method: .post, headers: auth(fixture.adminToken), body: ByteBuffer(string: body)) {
                response in
                #expect(response.status == .unprocessableContent)
                #expect(response.headers[.contentType] == "application/problem+json")
                let problem = try decode(ProblemBody.self, response)
                #expect(problem.code == "INVALID_INPUT" && problem.type == "urn:cronium:problem:INVALID_INPUT")
                let fields = Set(problem.errors?.map(\.field) ?? [])
                #expect(fields == ["name", "content", "retries", "timeoutValue", "schedule.cron", "environment.1BAD"])
                #expect(problem.errors?.first { $0.field == "schedule.cron" }?.message.contains("61") == true)
            }
            try await client.execute(
                uri: "/api/v1/events",
                method: .post,
                headers: auth(fixture.adminToken),
                body: ByteBuffer(string: #"{"name":"x","type":"COBOL"}"#)
            ) { response in
                #expect(response.status == .badRequest)
                let problem = try decode(ProblemBody.self, response)
                #expect(problem.detail == "type: 'COBOL' is not one of BASH, PYTHON, NODEJS, HTTP_REQUEST, TOOL_ACTION")
            }
            try await client.execute(uri: "/api/v1/events", method: .post, headers: auth(fixture.adminToken), body: ByteBuffer(string: "{not json")) {
                response in
                #expect(response.status == .badRequest)
            }
            // Decoding errors speak JSON and name the field's path.
            let wrongShapes = [
                ("[]", "expected an object at the top level"),
                (#"{"name":5,"type":"BASH"}"#, "name: expected a string"),
                (#"{"name":"x","type":"BASH","retries":"two"}"#, "retries: expected a whole number"),
                (#"{"name":"x","type":"BASH","environment":["A"]}"#, "environment: expected an object"),
            ]
            for (body, detail) in wrongShapes {
                try await client.execute(uri: "/api/v1/events", method: .post, headers: auth(fixture.adminToken), body: ByteBuffer(string: body)) {
                    response in
                    #expect(response.status == .badRequest)
                    let problem = try decode(ProblemBody.self, response)
                    #expect(problem.detail == detail, "\(body)")
                }
            }
            // Over the limit: 413 with the limit, not a server fault.
            let huge = #"{"name":"x","type":"BASH","content":""# + String(repeating: "x", count: 5 << 20) + #""}"#
            try await client.execute(uri: "/api/v1/events", method: .post, headers: auth(fixture.adminToken), body: ByteBuffer(string: huge)) {
                response in
                #expect(response.status == .contentTooLarge)
                let problem = try decode(ProblemBody.self, response)
                #expect(problem.code == "BODY_TOO_LARGE" && problem.detail.contains("4 MiB"), "\(problem.detail)")
            }
            try await client.execute(uri: "/api/v1/events", method: .get, headers: auth(fixture.adminToken)) { response in
                let events = try decode([Event].self, response)
                #expect(events.isEmpty)
            }
        }
    }

    /// Enum values are accepted in any case and stored in their one spelling.
    @Test func enumNamesAreCaseInsensitive() async throws {
        let fixture = try await ServerFixture()
        try await fixture.test { client in
            let body =
                #"{"name":"x","type":"bash","content":"true","status":"Active","triggerType":"schedule","schedule":{"kind":"CRON","cron":"0 3 * * *","misfire":"ALL","overlap":"Queue"},"timeoutUnit":"seconds"}"#
            let event = try await client.execute(
                uri: "/api/v1/events",
                method: .post,
                headers: auth(fixture.adminToken),
                body: ByteBuffer(string: body)
            ) { response in
                #expect(response.status == .created)
                return try decode(Event.self, response)
            }
            #expect(event.type == .bash && event.status == .active && event.triggerType == .schedule && event.timeoutUnit == .seconds)
            #expect(event.schedule?.kind == .cron && event.schedule?.misfire == .all && event.schedule?.overlap == .queue)
            try await client.execute(uri: "/api/v1/events/\(event.id)", method: .get, headers: auth(fixture.adminToken)) { response in
                let stored = String(buffer: response.body)
                #expect(stored.contains(#""type":"BASH""#) && stored.contains(#""kind":"cron""#) && stored.contains(#""misfire":"all""#), "\(stored)")
            }
            try await client.execute(
                uri: "/api/v1/events",
                method: .post,
                headers: auth(fixture.adminToken),
                body: ByteBuffer(string: #"{"name":"y","type":"basher"}"#)
            ) { response in
                #expect(response.status == .badRequest)
                let problem = try decode(ProblemBody.self, response)
                #expect(problem.detail == "type: 'basher' is not one of BASH, PYTHON, NODEJS, HTTP_REQUEST, TOOL_ACTION")
            }
        }
    }

    /// A misspelled field is refused with its name, at any depth; what a GET returned may be sent
    /// back as it is.
    @Test func unknownFieldsAreRefusedAndEchoedFieldsIgnored() async throws {
        let fixture = try await ServerFixture()
        try await fixture.test { client in
            let misspelled = [
                (#"{"name":"x","type":"BASH","content":"true","scheduel":{"kind":"cron","cron":"0 3 * * *"}}"#, "unknown field 'scheduel'"),
                (
                    #"{"name":"x","type":"BASH","content":"true","triggerType":"SCHEDULE","schedule":{"kind":"cron","cron":"0 3 * * *","timezone":"Europe/Paris"}}"#,
                    "unknown field 'schedule.timezone'"
                ),
                (#"{"name":"x","type":"BASH","content":"true","limits":{"memoryMb":64},"tag":["a"]}"#, "unknown fields 'limits.memoryMb', 'tag'"),
            ]
            for (body, start) in misspelled {
                try await client.execute(uri: "/api/v1/events", method: .post, headers: auth(fixture.adminToken), body: ByteBuffer(string: body)) {
                    response in
                    #expect(response.status == .badRequest)
                    let problem = try decode(ProblemBody.self, response)
                    #expect(problem.detail.hasPrefix(start), "\(problem.detail)")
                }
            }
            try await client.execute(uri: "/api/v1/events", method: .get, headers: auth(fixture.adminToken)) { response in
                let events = try decode([Event].self, response)
                #expect(events.isEmpty, "a refused request stores nothing")
            }
            let body = #"{"name":"x","type":"BASH","content":"true","description":null}"#
            let created = try await client.execute(
                uri: "/api/v1/events",
                method: .post,
                headers: auth(fixture.adminToken),
                body: ByteBuffer(string: body)
            ) { response in
                #expect(response.status == .created)
                return String(buffer: response.body)
            }
            // The fetched event, changed and sent back whole: id, ownerId, createdAt… are ignored.
            let echoed = created.replacingOccurrences(of: #""name":"x""#, with: #""name":"renamed""#)
            let id = try JSONDecoder.cronium.decode(Event.self, from: Data(created.utf8)).id
            try await client.execute(uri: "/api/v1/events/\(id)", method: .patch, headers: auth(fixture.adminToken), body: ByteBuffer(string: echoed))
            { response in
                #expect(response.status == .ok, "\(String(buffer: response.body))")
                let renamed = try decode(Event.self, response)
                #expect(renamed.name == "renamed")
            }
        }
    }

    /// Every route reads its query the same way: a value it cannot take is a 400 saying what it takes.
    @Test func queryParametersAreCheckedAlikeOnEveryRoute() async throws {
        let fixture = try await ServerFixture()
        try await fixture.test { client in
            let refused = [
                ("/api/v1/events?status=bogus", "?status=bogus: must be one of ACTIVE, PAUSED, DRAFT, ARCHIVED"),
                ("/api/v1/executions?status=bogus", "?status=bogus: must be one of "),
                ("/api/v1/executions?limit=-5", "?limit=-5: must be a whole number from 1 to 500"),
                ("/api/v1/executions?limit=abc", "?limit=abc: must be a whole number from 1 to 500"),
                ("/api/v1/executions?eventId=x", "?eventId=x: must be an id"),
                ("/api/v1/executions/1/logs?limit=0", "?limit=0: must be a whole number from 1 to 10000"),
                ("/api/v1/events/1/ledger?offset=-1", "?offset=-1: must be a whole number from 0 to"),
                ("/api/v1/tokens?all=maybe", "?all=maybe: must be true or false"),
            ]
            for (uri, start) in refused {
                try await client.execute(uri: uri, method: .get, headers: auth(fixture.adminToken)) { response in
                    #expect(response.status == .badRequest, "\(uri)")
                    let problem = try decode(ProblemBody.self, response)
                    #expect(problem.detail.hasPrefix(start), "\(uri): \(problem.detail)")
                }
            }
            for uri in ["/api/v1/events?status=active", "/api/v1/executions?status=Running&limit=500", "/api/v1/tokens?all=true"] {
                try await client.execute(uri: uri, method: .get, headers: auth(fixture.adminToken)) { response in
                    #expect(response.status == .ok, "\(uri)")
                }
            }
        }
    }

    /// Running by hand counts against the budget like any run, and stops at it.
    @Test func anEventThatUsedItsExecutionsCannotBeRunByHand() async throws {
        let fixture = try await ServerFixture()
        try await fixture.test { client in
            var input = EventInput()
            input.name = "once only"
            input.type = .bash
            input.content = "true"
            input.maxExecutions = 1
            let event = try await client.execute(uri: "/api/v1/events", method: .post, headers: auth(fixture.adminToken), body: try json(input)) {
                try decode(Event.self, $0)
            }
            try await client.execute(uri: "/api/v1/events/\(event.id)/run", method: .post, headers: auth(fixture.adminToken)) {
                #expect($0.status == .accepted)
            }
            #expect(
                try await eventually {
                    try await client.execute(uri: "/api/v1/events/\(event.id)", method: .get, headers: auth(fixture.adminToken)) {
                        try decode(Event.self, $0).executionCount == 1
                    }
                }
            )
            try await client.execute(uri: "/api/v1/events/\(event.id)/run", method: .post, headers: auth(fixture.adminToken)) { response in
                #expect(response.status == .conflict)
                let problem = try decode(ProblemBody.self, response)
                #expect(problem.detail.contains("used all 1 of its executions"))
                #expect(problem.code == "EXECUTIONS_USED_UP" && problem.type == "urn:cronium:problem:EXECUTIONS_USED_UP")
            }
        }
    }

    @Test func createRunAndReadTheLog() async throws {
        let fixture = try await ServerFixture()
        try await fixture.test { client in
            var input = EventInput()
            input.name = "hello"
            input.type = .bash
            input.content = "echo hello $WHO"
            input.environment = ["WHO": "world"]
            let event = try await client.execute(uri: "/api/v1/events", method: .post, headers: auth(fixture.adminToken), body: try json(input)) {
                response in
                #expect(response.status == .created)
                #expect(response.headers[.location] != nil)
                return try decode(Event.self, response)
            }
            #expect(event.status == .draft)
            struct Started: Decodable { let executionId: ExecutionID }
            let started = try await client.execute(uri: "/api/v1/events/\(event.id)/run", method: .post, headers: auth(fixture.adminToken)) {
                response in
                #expect(response.status == .accepted)
                return try decode(Started.self, response)
            }
            var execution: Execution?
            #expect(
                try await eventually {
                    execution = try await client.execute(
                        uri: "/api/v1/executions/\(started.executionId)",
                        method: .get,
                        headers: auth(fixture.adminToken)
                    ) {
                        try decode(Execution.self, $0)
                    }
                    return execution?.status.isFinal == true
                }
            )
            #expect(execution?.status == .success)
            struct Page: Decodable {
                let lines: [LogLine]
                let complete: Bool
            }
            try await client.execute(uri: "/api/v1/executions/\(started.executionId)/logs?after=0", method: .get, headers: auth(fixture.adminToken)) {
                response in
                let page = try decode(Page.self, response)
                #expect(page.lines.map(\.text) == ["hello world"])
                #expect(page.complete)
            }
            try await client.execute(uri: "/api/v1/executions/\(started.executionId)/cancel", method: .post, headers: auth(fixture.adminToken)) {
                response in
                #expect(response.status == .conflict)
                let problem = try decode(ProblemBody.self, response)
                #expect(problem.code == "EXECUTION_ENDED")
            }
            var patch = EventInput()
            patch.description = "says hello"
            try await client.execute(uri: "/api/v1/events/\(event.id)", method: .patch, headers: auth(fixture.adminToken), body: try json(patch)) {
                response in
                let updated = try decode(Event.self, response)
                #expect(updated.description == "says hello" && updated.content == "echo hello $WHO")
            }
            try await client.execute(uri: "/api/v1/events/\(event.id)", method: .delete, headers: auth(fixture.adminToken)) {
                #expect($0.status == .noContent)
            }
            try await client.execute(uri: "/api/v1/events/\(event.id)", method: .get, headers: auth(fixture.adminToken)) {
                #expect($0.status == .notFound)
            }
        }
    }

    @Test func rolesLimitWhatUsersSeeAndDo() async throws {
        let fixture = try await ServerFixture()
        try await fixture.test { client in
            let alice = try await makeUser(client, admin: fixture.adminToken, name: "alice", role: .user)
            let bob = try await makeUser(client, admin: fixture.adminToken, name: "bob", role: .user)
            let viewer = try await makeUser(client, admin: fixture.adminToken, name: "vera", role: .viewer)
            var input = EventInput()
            input.name = "alice's"
            input.type = .bash
            input.content = "true"
            let event = try await client.execute(uri: "/api/v1/events", method: .post, headers: auth(alice), body: try json(input)) {
                try decode(Event.self, $0)
            }
            // Private: others do not even learn it exists.
            try await client.execute(uri: "/api/v1/events/\(event.id)", method: .get, headers: auth(bob)) { #expect($0.status == .notFound) }
            try await client.execute(uri: "/api/v1/events/\(event.id)/run", method: .post, headers: auth(bob)) { #expect($0.status == .notFound) }
            try await client.execute(uri: "/api/v1/events", method: .post, headers: auth(viewer), body: try json(input)) {
                #expect($0.status == .forbidden)
            }
            try await client.execute(uri: "/api/v1/users", method: .get, headers: auth(alice)) { #expect($0.status == .forbidden) }
            // Shared: others may read and run it, but not change it; viewers only read.
            var share = EventInput()
            share.shared = true
            try await client.execute(uri: "/api/v1/events/\(event.id)", method: .patch, headers: auth(alice), body: try json(share)) {
                #expect($0.status == .ok)
            }
            try await client.execute(uri: "/api/v1/events/\(event.id)", method: .get, headers: auth(bob)) { #expect($0.status == .ok) }
            try await client.execute(uri: "/api/v1/events/\(event.id)/run", method: .post, headers: auth(bob)) { #expect($0.status == .accepted) }
            try await client.execute(uri: "/api/v1/events/\(event.id)", method: .delete, headers: auth(bob)) { #expect($0.status == .forbidden) }
            try await client.execute(uri: "/api/v1/events/\(event.id)", method: .get, headers: auth(viewer)) { #expect($0.status == .ok) }
            try await client.execute(uri: "/api/v1/events/\(event.id)/run", method: .post, headers: auth(viewer)) { #expect($0.status == .forbidden) }
            try await client.execute(uri: "/api/v1/events/\(event.id)", method: .get, headers: auth(fixture.adminToken)) { #expect($0.status == .ok) }
        }
    }

    @Test func revokedTokensStopWorking() async throws {
        let fixture = try await ServerFixture()
        try await fixture.test { client in
            let token = try await makeUser(client, admin: fixture.adminToken, name: "carol", role: .user)
            let tokens = try await client.execute(uri: "/api/v1/tokens", method: .get, headers: auth(token)) { try decode([APIToken].self, $0) }
            #expect(tokens.count == 1)
            #expect(!String(data: try JSONEncoder().encode(tokens), encoding: .utf8)!.contains(token))
            try await client.execute(uri: "/api/v1/tokens/\(tokens[0].id)", method: .delete, headers: auth(token)) {
                #expect($0.status == .noContent)
            }
            try await client.execute(uri: "/api/v1/me", method: .get, headers: auth(token)) { #expect($0.status == .unauthorized) }
        }
    }

    @Test func wrongPasswordIsRefused() async throws {
        let fixture = try await ServerFixture()
        try await fixture.test { client in
            try await client.execute(uri: "/api/v1/auth/login", method: .post, body: ByteBuffer(string: #"{"username":"admin","password":"guess"}"#))
            { response in
                #expect(response.status == .unauthorized)
                #expect(response.headers[.setCookie] == nil)
            }
        }
    }
}

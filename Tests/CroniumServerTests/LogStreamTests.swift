import CroniumCore
import CroniumTesting
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import HummingbirdWSTesting
import HummingbirdWebSocket
import NIOCore
import NIOWebSocket
import Synchronization
import Testing

@testable import CroniumServer

@Suite struct LogStreamTests {
    @Test func streamReplaysFollowsAndClosesWithTheStatus() async throws {
        let fixture = try await ServerFixture()
        try await fixture.test(.live) { client in
            var input = EventInput()
            input.name = "slow"
            input.type = .bash
            input.content = "echo first\nsleep 0.4\necho second\nexit 4"
            let event = try await client.execute(uri: "/api/v1/events", method: .post, headers: auth(fixture.adminToken), body: try json(input)) {
                try decode(Event.self, $0)
            }
            struct Started: Decodable { let executionId: ExecutionID }
            let started = try await client.execute(uri: "/api/v1/events/\(event.id)/run", method: .post, headers: auth(fixture.adminToken)) {
                try decode(Started.self, $0)
            }
            let messages = Mutex<[String]>([])
            let close = try await client.ws("/api/v1/executions/\(started.executionId)/logs/stream?token=\(fixture.adminToken)") {
                inbound,
                outbound,
                _ in
                try await outbound.write(.text("start"))
                for try await message in inbound.messages(maxSize: 1 << 20) {
                    if case WebSocketMessage.text(let text) = message { messages.withLock { $0.append(text) } }
                }
            }
            #expect(close?.closeCode == .normalClosure)
            let received = messages.withLock { $0 }
            #expect(received.count == 3)
            #expect(received.first?.contains(#""text":"first""#) == true)
            #expect(received.dropFirst().first?.contains(#""text":"second""#) == true)
            #expect(received.last == #"{"status":"FAILURE","type":"finished"}"#)

            // A finished run replays from the store and closes; a client that never speaks gets
            // the stream anyway, after the server's short wait for it.
            let replay = Mutex<[String]>([])
            _ = try await client.ws("/api/v1/executions/\(started.executionId)/logs/stream?token=\(fixture.adminToken)") { inbound, _, _ in
                for try await message in inbound.messages(maxSize: 1 << 20) {
                    if case WebSocketMessage.text(let text) = message { replay.withLock { $0.append(text) } }
                }
            }
            #expect(replay.withLock { $0 } == received)

            // `?after=1`: the lines the client has (read from the store) are not sent again.
            let rest = Mutex<[String]>([])
            _ = try await client.ws("/api/v1/executions/\(started.executionId)/logs/stream?after=1&token=\(fixture.adminToken)") {
                inbound,
                outbound,
                _ in
                try await outbound.write(.text("start"))
                for try await message in inbound.messages(maxSize: 1 << 20) {
                    if case WebSocketMessage.text(let text) = message { rest.withLock { $0.append(text) } }
                }
            }
            #expect(rest.withLock { $0 } == Array(received.dropFirst()))

            // `?batch=true`: the lines in `lines` messages, the same lines in the same order.
            let batched = Mutex<[LogStreamMessage]>([])
            _ = try await client.ws("/api/v1/executions/\(started.executionId)/logs/stream?batch=true&token=\(fixture.adminToken)") {
                inbound,
                outbound,
                _ in
                try await outbound.write(.text("start"))
                for try await message in inbound.messages(maxSize: 1 << 20) {
                    if case WebSocketMessage.text(let text) = message {
                        let decoded = try JSONDecoder.cronium.decode(LogStreamMessage.self, from: Data(text.utf8))
                        batched.withLock { $0.append(decoded) }
                    }
                }
            }
            let messagesBatched = batched.withLock { $0 }
            #expect(messagesBatched.dropLast().allSatisfy { $0.type == "lines" })
            #expect(messagesBatched.dropLast().flatMap { $0.lines ?? [] }.map(\.text) == ["first", "second"])
            #expect(messagesBatched.last?.status == .failure)
        }
    }

    /// A refused stream still says why: the upgrade is taken, the problem is the only message,
    /// and the close code is 4000 + its HTTP status.
    @Test func refusedStreamsSayWhy() async throws {
        let fixture = try await ServerFixture()
        try await fixture.test(.live) { client in
            for (query, status, code) in [
                ("", 4401, "UNAUTHORIZED"), ("?token=crn_made-up", 4401, "UNAUTHORIZED"), ("?token=\(fixture.adminToken)", 4404, "NOT_FOUND"),
            ] {
                let messages = Mutex<[String]>([])
                let close = try await client.ws("/api/v1/executions/999/logs/stream\(query)") { inbound, _, _ in
                    for try await message in inbound.messages(maxSize: 1 << 20) {
                        if case WebSocketMessage.text(let text) = message { messages.withLock { $0.append(text) } }
                    }
                }
                #expect(close?.closeCode == WebSocketErrorCode(codeNumber: status), "\(query)")
                #expect(close?.reason == code)
                let received = messages.withLock { $0 }
                #expect(received.count == 1)
                let problem = try JSONDecoder().decode(ProblemBody.self, from: Data((received.first ?? "").utf8))
                #expect(problem.code == code && problem.status == status - 4000)
            }
            try await client.execute(uri: "/ready", method: .get) { #expect($0.status == .ok) }
        }
    }

    /// A known path asked with a method it does not answer: 405, with the methods it does.
    @Test func aWrongMethodIsA405ThatListsTheRightOnes() async throws {
        let fixture = try await ServerFixture()
        try await fixture.test { client in
            for (method, uri, allow) in [
                (HTTPRequest.Method.put, "/api/v1/events", "GET, POST"), (.post, "/api/v1/events/7", "DELETE, GET, PATCH"),
                (.get, "/api/v1/executions/3/cancel", "POST"),
            ] {
                try await client.execute(uri: uri, method: method, headers: auth(fixture.adminToken)) { response in
                    #expect(response.status == .methodNotAllowed, "\(method) \(uri)")
                    #expect(response.headers[.allow] == allow)
                    let problem = try decode(ProblemBody.self, response)
                    #expect(problem.code == "METHOD_NOT_ALLOWED" && problem.detail.contains(allow))
                }
            }
            try await client.execute(uri: "/api/v1/nothing-here", method: .get, headers: auth(fixture.adminToken)) { response in
                #expect(response.status == .notFound)
                let problem = try decode(ProblemBody.self, response)
                #expect(problem.code == "NOT_FOUND")
            }
        }
    }
}

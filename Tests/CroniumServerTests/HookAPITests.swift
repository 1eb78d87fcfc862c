import CroniumCore
import CroniumEngine
import CroniumTesting
import Crypto
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

@testable import CroniumServer

/// Incoming webhooks through the API: a signed delivery starts a run with its body as the input;
/// every refusal starts nothing and says why.
@Suite struct HookAPITests {
    /// POSTs `body` to a hook, signed with `secret` at `timestamp` when given.
    static func deliver(
        _ client: any TestClientProtocol,
        _ path: String,
        _ body: String,
        secret: String? = nil,
        timestamp: Int = Int(Date().timeIntervalSince1970),
        signature: String? = nil
    ) async throws -> (status: Int, body: String, headers: HTTPFields) {
        var headers: HTTPFields = [.contentType: "application/json"]
        if let secret {
            let mac = HMAC<SHA256>.authenticationCode(for: Data("\(timestamp).\(body)".utf8), using: SymmetricKey(data: Data(secret.utf8)))
            headers[HTTPField.Name("X-Cronium-Signature")!] = signature ?? "sha256=" + mac.map { String(format: "%02x", $0) }.joined()
            headers[HTTPField.Name("X-Cronium-Timestamp")!] = String(timestamp)
        }
        return try await client.execute(uri: path, method: .post, headers: headers, body: ByteBuffer(string: body)) {
            ($0.status.code, String(buffer: $0.body), $0.headers)
        }
    }

    func workflowRuns(_ client: any TestClientProtocol, _ token: String, _ id: WorkflowID) async throws -> [WorkflowRun] {
        let answer = try await send(client, token, .get, "/api/v1/workflows/\(id)/runs")
        return try JSONDecoder.cronium.decode([WorkflowRun].self, from: Data(answer.body.utf8))
    }

    @Test func aSignedDeliveryStartsAWorkflowAndEveryRefusalStartsNothing() async throws {
        let fixture = try await ServerFixture()
        try await fixture.test(.live) { client in
            let token = fixture.adminToken
            _ = try await RunsClient(client: client, token: token).create("step", .bash, "true")
            let created = try await send(
                client,
                token,
                .post,
                "/api/v1/workflows",
                #"{"name": "deploy", "trigger": "WEBHOOK", "nodes": [{"key": "step", "eventName": "step"}], "connections": []}"#
            )
            let workflow = try JSONDecoder.cronium.decode(Workflow.self, from: Data(created.body.utf8))
            #expect(try await send(client, token, .get, "/api/v1/workflows/\(workflow.id)/hook").status == 404)
            let rotated = try await send(client, token, .post, "/api/v1/workflows/\(workflow.id)/hook/rotate", #"{"signed": true}"#)
            #expect(rotated.status == 201, "\(rotated.body)")
            let hook = try JSONDecoder.cronium.decode(Hook.self, from: Data(rotated.body.utf8))
            #expect(hook.signed && hook.path == "/api/v1/hooks/\(hook.key)" && hook.workflowId == workflow.id)
            let body = #"{"ref": "main", "commits": 3}"#
            let now = Int(Date().timeIntervalSince1970)

            let unsigned = try await Self.deliver(client, hook.path, body)
            #expect(unsigned.status == 401 && unsigned.body.contains("takes only signed deliveries"), "\(unsigned.body)")
            let forged = try await Self.deliver(client, hook.path, body, secret: "whsec_not-the-secret")
            #expect(forged.status == 401 && forged.body.contains("does not match"), "\(forged.body)")
            let stale = try await Self.deliver(client, hook.path, body, secret: hook.signingSecret, timestamp: now - 600)
            #expect(stale.status == 401 && stale.body.contains("s old; at most 300 s from the server's time are taken"), "\(stale.body)")
            let garbled = try await Self.deliver(client, hook.path, body, secret: hook.signingSecret, signature: "sha256=xyz")
            #expect(garbled.status == 401 && garbled.body.contains("64 hex digits"), "\(garbled.body)")
            let unknown = try await Self.deliver(client, "/api/v1/hooks/hook_nothing", body)
            #expect(unknown.status == 404, "\(unknown.body)")
            #expect(try await workflowRuns(client, token, workflow.id).isEmpty)

            let accepted = try await Self.deliver(client, hook.path, body, secret: hook.signingSecret, timestamp: now)
            #expect(accepted.status == 202, "\(accepted.body)")
            let delivery = try JSONDecoder.cronium.decode(HookDelivery.self, from: Data(accepted.body.utf8))
            #expect(delivery.workflowId == workflow.id && delivery.status == "RUNNING")
            #expect(accepted.headers[.location] == "/api/v1/workflows/\(workflow.id)/runs/\(try #require(delivery.workflowRunId))")
            let replay = try await Self.deliver(client, hook.path, body, secret: hook.signingSecret, timestamp: now)
            #expect(replay.status == 409 && replay.body.contains("SIGNATURE_REPLAYED"), "\(replay.body)")
            // The same signature in capitals is the same signature.
            let mac = HMAC<SHA256>.authenticationCode(for: Data("\(now).\(body)".utf8), using: SymmetricKey(data: Data(hook.signingSecret.utf8)))
            let shouted = try await Self.deliver(
                client,
                hook.path,
                body,
                secret: hook.signingSecret,
                timestamp: now,
                signature: "SHA256=" + mac.map { String(format: "%02X", $0) }.joined()
            )
            #expect(shouted.status == 409, "\(shouted.body)")

            let runs = try await workflowRuns(client, token, workflow.id)
            #expect(runs.count == 1)
            #expect(runs.first?.trigger == .webhook && runs.first?.input == JSONValue(text: body))

            // Rotated: the old key is gone at once.
            let again = try JSONDecoder.cronium.decode(
                Hook.self,
                from: Data(try await send(client, token, .post, "/api/v1/workflows/\(workflow.id)/hook/rotate").body.utf8)
            )
            #expect(again.key != hook.key && again.signingSecret != hook.signingSecret && again.signed)
            #expect(try await Self.deliver(client, hook.path, body, secret: hook.signingSecret).status == 404)

            // Paused: refused with why.
            _ = try await send(client, token, .post, "/api/v1/workflows/\(workflow.id)/pause")
            let paused = try await Self.deliver(client, again.path, body, secret: again.signingSecret)
            #expect(paused.status == 409 && paused.body.contains("is PAUSED and takes no deliveries"), "\(paused.body)")
            #expect(try await workflowRuns(client, token, workflow.id).count == 1)
        }
    }

    /// An event's unsigned hook: the body is the run's input; a body that is not JSON and a
    /// sender past the hook's pace are refused.
    @Test func anEventsHookRunsItWithTheBodyAsInput() async throws {
        // Paced so that a loaded machine cannot refill the hook's turns while the test sends.
        let fixture = try await ServerFixture { $0.engine.hookLimits = HookRateLimit(perSecond: 0.2, burst: 8) }
        try await fixture.test(.live) { client in
            let token = fixture.adminToken
            let runs = RunsClient(client: client, token: token)
            let event = try await runs.create("hooked", .bash, "cronium_input") { $0.status = .active }
            let hook = try JSONDecoder.cronium.decode(
                Hook.self,
                from: Data(try await send(client, token, .post, "/api/v1/events/\(event.id)/hook/rotate").body.utf8)
            )
            #expect(!hook.signed && hook.eventId == event.id)
            #expect(try await send(client, token, .get, "/api/v1/events/\(event.id)/hook").body.contains(hook.key))
            let huge = try await Self.deliver(client, hook.path, "[" + String(repeating: "1,", count: 150_000) + "1]")
            #expect(huge.status == 413 && huge.body.contains("BODY_TOO_LARGE"), "\(huge.body.prefix(300))")
            let notJSON = try await Self.deliver(client, hook.path, "ref=main")
            #expect(notJSON.status == 400 && notJSON.body.contains("must be JSON"), "\(notJSON.body)")
            let accepted = try await Self.deliver(client, hook.path, #"{"x": 1}"#)
            #expect(accepted.status == 202, "\(accepted.body)")
            let delivery = try JSONDecoder.cronium.decode(HookDelivery.self, from: Data(accepted.body.utf8))
            let execution = try await runs.ended(try #require(delivery.executionId))
            #expect(execution.status == .success && execution.trigger == .webhook, "\(execution)")
            #expect(execution.input == .object(["x": .integer(1)]))

            // Signed as GitHub signs (the body alone): checked, and taken once.
            func hub(_ body: String, secret: String) -> HTTPFields {
                let mac = HMAC<SHA256>.authenticationCode(for: Data(body.utf8), using: SymmetricKey(data: Data(secret.utf8)))
                return [HTTPField.Name("X-Hub-Signature-256")!: "sha256=" + mac.map { String(format: "%02x", $0) }.joined()]
            }
            func post(_ body: String, _ headers: HTTPFields) async throws -> (Int, String) {
                try await client.execute(uri: hook.path, method: .post, headers: headers, body: ByteBuffer(string: body)) {
                    ($0.status.code, String(buffer: $0.body))
                }
            }
            let push = #"{"ref": "refs/heads/main"}"#
            let wrong = try await post(push, hub(push, secret: "whsec_other"))
            #expect(wrong.0 == 401 && wrong.1.contains("X-Hub-Signature-256 is the HMAC-SHA256 of the body"), "\(wrong.1)")
            #expect(try await post(push, hub(push, secret: hook.signingSecret)).0 == 202)
            let again = try await post(push, hub(push, secret: hook.signingSecret))
            #expect(again.0 == 409 && again.1.contains("SIGNATURE_REPLAYED"), "\(again.1)")

            // Past the pace (8 at once, the deliveries above included): told when to come back, and nothing more starts.
            _ = try await send(client, token, .patch, "/api/v1/events/\(event.id)", #"{"status": "PAUSED"}"#)
            // Sent all at once, so that a slow machine does not refill the hook's turns meanwhile.
            let answers = try await withThrowingTaskGroup(of: (Int, String?).self) { group in
                for _ in 0..<12 {
                    group.addTask {
                        let answer = try await Self.deliver(client, hook.path, "{}")
                        return (answer.status, answer.headers[.retryAfter])
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            let statuses = answers.map(\.0)
            let retryAfter = answers.first { $0.0 == 429 }?.1
            #expect(statuses.contains(429) && statuses.allSatisfy { $0 == 409 || $0 == 429 }, "\(statuses)")
            #expect(retryAfter != nil)
            #expect(try await send(client, token, .delete, "/api/v1/events/\(event.id)/hook").status == 204)
            #expect(try await Self.deliver(client, hook.path, "{}").status == 404)
        }
    }
}

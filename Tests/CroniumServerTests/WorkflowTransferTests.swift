import CroniumCore
import CroniumTesting
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Synchronization
import Testing

@testable import CroniumServer

/// Workflows exported with the events they run and imported on another server, by name.
@Suite struct WorkflowTransferTests {
    func post(_ client: any TestClientProtocol, _ token: String, _ path: String, _ body: String) async throws -> String {
        let answer = try await send(client, token, .post, path, body)
        #expect((200..<300).contains(answer.status), "\(path): \(answer.body)")
        return answer.body
    }

    @Test func aWorkflowTravelsWithItsEventsAndComesBackUnchanged() async throws {
        let source = try await ServerFixture()
        let exportedText = Mutex("")
        try await source.test { client in
            let token = source.adminToken
            _ = try await post(client, token, "/api/v1/events", #"{"name": "build", "type": "BASH", "content": "make"}"#)
            _ = try await post(client, token, "/api/v1/events", #"{"name": "notify", "type": "BASH", "content": "true"}"#)
            _ = try await post(
                client,
                token,
                "/api/v1/workflows",
                #"{"name": "alerts", "nodes": [{"key": "notify", "eventName": "notify"}], "connections": []}"#
            )
            // build's failure starts the alerts workflow: an action naming a workflow of the same document.
            _ = try await send(
                client,
                token,
                .patch,
                "/api/v1/events/1",
                #"{"actions": [{"when": "ON_FAILURE", "type": "RUN_WORKFLOW", "workflowName": "alerts"}]}"#
            )
            _ = try await post(
                client,
                token,
                "/api/v1/workflows",
                #"""
                {"name": "release", "trigger": "SCHEDULE", "schedule": {"kind": "cron", "cron": "0 3 * * *", "timeZone": "Europe/Berlin"},
                 "overlap": "queue", "nodes": [{"key": "build", "eventName": "build", "retries": 2}, {"key": "notify", "eventName": "notify"}],
                 "connections": [{"from": "build", "to": "notify", "when": "ALWAYS"}]}
                """#
            )
            let body = try await send(client, token, .get, "/api/v1/workflows/export").body
            exportedText.withLock { $0 = body }
        }
        let document = exportedText.withLock { $0 }
        let exported = try JSONDecoder.cronium.decode(EventDocument.self, from: Data(document.utf8))
        #expect(exported.events.map(\.name) == ["build", "notify"])
        #expect(exported.workflows?.map(\.name) == ["alerts", "release"])
        #expect(exported.workflows?[1].nodes?.map(\.eventName) == ["build", "notify"])
        #expect(exported.events[0].actions?.first?.workflowName == "alerts" && exported.events[0].actions?.first?.workflowId == nil)

        let target = try await ServerFixture()
        try await target.test { client in
            let token = target.adminToken
            // Something of its own first, so that ids differ from the source's.
            _ = try await post(client, token, "/api/v1/events", #"{"name": "other", "type": "BASH", "content": "true"}"#)
            let dry = try JSONDecoder.cronium.decode(
                ImportReport.self,
                from: Data(try await post(client, token, "/api/v1/events/import?dryRun=true", document).utf8)
            )
            #expect(dry.workflows?.created.map(\.name) == ["alerts", "release"] && dry.workflows?.created.allSatisfy { $0.id == nil } == true)
            #expect(try await send(client, token, .get, "/api/v1/workflows").body == "[]")

            let report = try JSONDecoder.cronium.decode(
                ImportReport.self,
                from: Data(try await post(client, token, "/api/v1/events/import", document).utf8)
            )
            #expect(report.created.map(\.name) == ["build", "notify"])
            let workflows = try JSONDecoder.cronium.decode(
                [Workflow].self,
                from: Data(try await send(client, token, .get, "/api/v1/workflows").body.utf8)
            )
            let byName = Dictionary(uniqueKeysWithValues: workflows.map { ($0.name, $0) })
            let release = try #require(byName["release"])
            #expect(release.nodes.map(\.eventId) == [2, 3] && release.nodes[0].retries == 2 && release.overlap == .queue)
            #expect(release.schedule?.cron == "0 3 * * *" && release.isScheduled)
            let build = try JSONDecoder.cronium.decode(
                EventOverview.self,
                from: Data(try await send(client, token, .get, "/api/v1/events/2").body.utf8)
            )
            #expect(build.event.actions?.first?.workflowId == byName["alerts"]?.id)

            // The same document again changes nothing.
            let again = try JSONDecoder.cronium.decode(
                ImportReport.self,
                from: Data(try await post(client, token, "/api/v1/events/import", document).utf8)
            )
            #expect(again.unchanged.count == 2 && again.workflows?.unchanged.count == 2 && again.workflows?.updated.isEmpty == true)

            // A document whose workflow would start itself through its node's action is refused whole.
            let loop = #"""
                {"events": [{"name": "step", "type": "BASH", "content": "true",
                             "actions": [{"when": "ALWAYS", "type": "RUN_WORKFLOW", "workflowName": "loop"}]}],
                 "workflows": [{"name": "loop", "nodes": [{"key": "step", "eventName": "step"}], "connections": []}]}
                """#
            let refused = try await send(client, token, .post, "/api/v1/events/import", loop)
            #expect(refused.status == 422 && refused.body.contains("would run forever"), "\(refused.body)")
            let missing = try await send(
                client,
                token,
                .post,
                "/api/v1/events/import",
                #"{"workflows": [{"name": "x", "nodes": [{"key": "a", "eventName": "nowhere"}], "connections": []}]}"#
            )
            #expect(missing.status == 422 && missing.body.contains("workflows[0].nodes[0].eventName"), "\(missing.body)")
            #expect(try await send(client, token, .get, "/api/v1/workflows").body.components(separatedBy: "\"name\"").count == 3)
        }
    }
}

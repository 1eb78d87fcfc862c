import CroniumCore
import CroniumTesting
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

@testable import CroniumServer

/// Workflows through the API of a live server, with real Python scripts handing data on with
/// their runtime helpers.
@Suite struct WorkflowAPITests {
    /// A → B, A → C, B + C → D: each node adds its name to what it got; D gets both branches'
    /// outputs, keyed by node, and the run's detail shows every node.
    @Test func aDiamondPassesDataFromNodeToNode() async throws {
        let fixture = try await ServerFixture()
        try await fixture.test(.live) { client in
            let runs = RunsClient(client: client, token: fixture.adminToken)
            let script = """
                import cronium
                got = cronium.input()
                run = cronium.event()
                assert run["workflow"]["name"] == "diamond" and run["workflow"]["node"] == run["eventName"], run
                cronium.output({"node": run["eventName"], "got": got})
                """
            for name in ["A", "B", "C", "D"] { _ = try await runs.create(name, .python, script) }
            let document = #"""
                {"name": "diamond",
                 "nodes": [{"key": "A", "eventName": "A"}, {"key": "B", "eventName": "B"}, {"key": "C", "eventName": "C"},
                           {"key": "D", "eventName": "D", "join": "all"}],
                 "connections": [{"from": "A", "to": "B"}, {"from": "A", "to": "C"}, {"from": "B", "to": "D"}, {"from": "C", "to": "D"}]}
                """#
            let created = try await send(client, fixture.adminToken, .post, "/api/v1/workflows", document)
            #expect(created.status == 201, "\(created.body)")
            let workflow = try JSONDecoder.cronium.decode(Workflow.self, from: Data(created.body.utf8))
            #expect(workflow.nodes.map(\.eventName) == [nil, nil, nil, nil] && workflow.nodes.allSatisfy { $0.eventId != nil })

            let started = try await send(client, fixture.adminToken, .post, "/api/v1/workflows/\(workflow.id)/run", #"{"input": {"n": 1}}"#)
            #expect(started.status == 202, "\(started.body)")
            struct Started: Decodable { let runId: WorkflowRunID }
            let runId = try JSONDecoder.cronium.decode(Started.self, from: Data(started.body.utf8)).runId
            var run: WorkflowRun?
            #expect(
                try await eventually(timeout: .seconds(60)) {
                    let answer = try await send(client, fixture.adminToken, .get, "/api/v1/workflows/\(workflow.id)/runs/\(runId)")
                    run = try JSONDecoder.cronium.decode(WorkflowRun.self, from: Data(answer.body.utf8))
                    return run?.status != .running
                }
            )
            let finished = try #require(run)
            #expect(finished.status == .success, "\(finished)")
            let outputs = Dictionary(uniqueKeysWithValues: finished.nodes.map { ($0.key, $0.output ?? .null) })
            let a = JSONValue.object(["node": .string("A"), "got": .object(["n": .integer(1)])])
            #expect(outputs["A"] == a)
            #expect(outputs["B"] == .object(["node": .string("B"), "got": a]))
            #expect(outputs["D"] == .object(["node": .string("D"), "got": .object(["B": outputs["B"]!, "C": outputs["C"]!])]))
            let list = try await send(client, fixture.adminToken, .get, "/api/v1/workflows/\(workflow.id)/runs")
            #expect(list.status == 200 && list.body.contains("\"id\":\(runId)"))
            // Done: a cancel is refused with why.
            let late = try await send(client, fixture.adminToken, .post, "/api/v1/workflows/\(workflow.id)/runs/\(runId)/cancel")
            #expect(late.status == 409 && late.body.contains("EXECUTION_ENDED"))
        }
    }

    /// Every problem is named on its field, nothing is stored, and a misspelled field is refused.
    @Test func aBadWorkflowIsRefusedWithEveryProblem() async throws {
        let fixture = try await ServerFixture()
        try await fixture.test { client in
            let cycle = #"""
                {"name": "loop", "nodes": [{"key": "a", "eventName": "nothing"}, {"key": "b", "eventName": "nothing"}],
                 "connections": [{"from": "a", "to": "b"}, {"from": "b", "to": "a"}]}
                """#
            let refused = try await send(client, fixture.adminToken, .post, "/api/v1/workflows", cycle)
            #expect(refused.status == 422)
            let problem = try JSONDecoder.cronium.decode(ProblemBody.self, from: Data(refused.body.utf8))
            #expect(problem.errors?.contains(.init(field: "connections", message: "the connections make a cycle: a → b → a")) == true)
            #expect(problem.errors?.contains { $0.field == "nodes[0].eventName" } == true)
            let misspelled = try await send(client, fixture.adminToken, .post, "/api/v1/workflows", #"{"name": "x", "node": []}"#)
            #expect(misspelled.status == 400 && misspelled.body.contains("unknown field 'node'"), "\(misspelled.body)")
            #expect(try await send(client, fixture.adminToken, .get, "/api/v1/workflows").body == "[]")
            #expect(try await send(client, fixture.adminToken, .get, "/api/v1/workflows/1").status == 404)
        }
    }

    /// A script's condition drives ON_CONDITION connections, and `join: all` waits for every
    /// connection while `join: any` needs one: here `both` is skipped (one of its connections
    /// did not hold) and `either` runs.
    @Test func aConditionAndJoinsDecideThroughRealScripts() async throws {
        let fixture = try await ServerFixture()
        try await fixture.test(.live) { client in
            let runs = RunsClient(client: client, token: fixture.adminToken)
            _ = try await runs.create("decide", .python, "import cronium\ncronium.set_condition(True)")
            _ = try await runs.create("plain", .bash, "true")
            let document = #"""
                {"name": "joins",
                 "nodes": [{"key": "decide", "eventName": "decide"}, {"key": "other", "eventName": "plain"},
                           {"key": "flagged", "eventName": "plain"}, {"key": "unflagged", "eventName": "plain"},
                           {"key": "both", "eventName": "plain", "join": "all"}, {"key": "either", "eventName": "plain"}],
                 "connections": [{"from": "decide", "to": "flagged", "when": "ON_CONDITION"},
                                 {"from": "other", "to": "unflagged", "when": "ON_CONDITION"},
                                 {"from": "flagged", "to": "both"}, {"from": "unflagged", "to": "both"},
                                 {"from": "flagged", "to": "either"}, {"from": "unflagged", "to": "either"}]}
                """#
            let created = try await send(client, fixture.adminToken, .post, "/api/v1/workflows", document)
            #expect(created.status == 201, "\(created.body)")
            let workflow = try JSONDecoder.cronium.decode(Workflow.self, from: Data(created.body.utf8))
            let started = try await send(client, fixture.adminToken, .post, "/api/v1/workflows/\(workflow.id)/run")
            struct Started: Decodable { let runId: WorkflowRunID }
            let runId = try JSONDecoder.cronium.decode(Started.self, from: Data(started.body.utf8)).runId
            var run: WorkflowRun?
            #expect(
                try await eventually(timeout: .seconds(60)) {
                    let answer = try await send(client, fixture.adminToken, .get, "/api/v1/workflows/\(workflow.id)/runs/\(runId)")
                    run = try JSONDecoder.cronium.decode(WorkflowRun.self, from: Data(answer.body.utf8))
                    return run?.status != .running
                }
            )
            let states = Dictionary(uniqueKeysWithValues: try #require(run).nodes.map { ($0.key, $0.state) })
            #expect(states["decide"] == .ended(.success, condition: true))
            #expect(states["flagged"] == .ended(.success, condition: nil))
            #expect(states["unflagged"] == .skipped(reason: "other -[ON_CONDITION]-> unflagged did not hold: other ended SUCCESS"))
            #expect(states["both"] == .skipped(reason: "join all: unflagged -[ON_SUCCESS]-> both did not hold: unflagged was skipped"))
            #expect(states["either"] == .ended(.success, condition: nil))
            #expect(run?.status == .success)
        }
    }
}

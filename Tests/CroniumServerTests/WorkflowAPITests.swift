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

    /// An event's RUN_WORKFLOW action starts the workflow with the run's output as its input; an
    /// action that would start a workflow from inside it is refused, naming the cycle.
    @Test func anActionRunsAWorkflowAndACycleThroughOneIsRefused() async throws {
        let fixture = try await ServerFixture()
        try await fixture.test(.live) { client in
            let token = fixture.adminToken
            let runs = RunsClient(client: client, token: token)
            let step = try await runs.create("step", .bash, "cronium_output \"$(cronium_input)\"")
            let created = try await send(
                client,
                token,
                .post,
                "/api/v1/workflows",
                #"{"name": "follow-up", "nodes": [{"key": "step", "eventName": "step"}], "connections": []}"#
            )
            let workflow = try JSONDecoder.cronium.decode(Workflow.self, from: Data(created.body.utf8))
            let check = try await runs.create("check", .bash, #"cronium_output '{"free": 3}'"#) {
                $0.actions = [EventAction(when: .onSuccess, type: .runWorkflow, workflowName: "follow-up")]
            }
            #expect(check.actions?.first?.workflowId == workflow.id && check.actions?.first?.workflowName == nil)
            let ended = try await runs.ended(try await runs.start(check))
            #expect(ended.status == .success)
            let firing = try #require(try await runs.actions(ended.id).first)
            #expect(firing.type == .runWorkflow && firing.status == .fired && firing.targetWorkflowId == workflow.id, "\(firing)")
            let runId = try #require(firing.workflowRunId)
            var run: WorkflowRun?
            #expect(
                try await eventually(timeout: .seconds(60)) {
                    let answer = try await send(client, token, .get, "/api/v1/workflows/\(workflow.id)/runs/\(runId)")
                    run = try JSONDecoder.cronium.decode(WorkflowRun.self, from: Data(answer.body.utf8))
                    return run?.status.isFinal == true
                }
            )
            #expect(run?.status == .success && run?.trigger == .action)
            #expect(run?.input == .object(["free": .integer(3)]) && run?.nodes.first?.output == .object(["free": .integer(3)]))

            // The workflow's own node starting the workflow again: refused, and nothing changes.
            let loop = try await send(
                client,
                token,
                .patch,
                "/api/v1/events/\(step.id)",
                #"{"actions": [{"when": "ALWAYS", "type": "RUN_WORKFLOW", "workflowId": \#(workflow.id)}]}"#
            )
            #expect(loop.status == 422, "\(loop.body)")
            #expect(
                loop.body.contains(
                    "these actions would run forever: 'step' (\(step.id)) → workflow 'follow-up' (\(workflow.id)) → 'step' (\(step.id))"
                )
            )
            let wrong = try await send(
                client,
                token,
                .patch,
                "/api/v1/events/\(check.id)",
                #"{"actions": [{"when": "ALWAYS", "type": "RUN_WORKFLOW", "workflowName": "no-such"}]}"#
            )
            #expect(wrong.status == 422 && wrong.body.contains("you have no workflow named 'no-such'"), "\(wrong.body)")
            // An event a node runs cannot go while the node is there.
            let deleted = try await send(client, token, .delete, "/api/v1/events/\(step.id)")
            #expect(deleted.status == 409 && deleted.body.contains("is run by workflow 'follow-up' (\(workflow.id)), node 'step'"), "\(deleted.body)")
        }
    }
}

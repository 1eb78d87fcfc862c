import CroniumCore
import CroniumEngine
import CroniumStore
import CroniumTesting
import Foundation
import Testing

/// Saving workflows: every problem named at once, nothing stored on any; events named by name
/// and kept by id; a workflow seen and changed by its owner (and administrators) only.
@Suite struct WorkflowDefinitionTests {
    static func input(_ nodes: [WorkflowNode], _ connections: [WorkflowConnection], name: String = "disk") -> WorkflowInput {
        WorkflowInput(name: name, nodes: nodes, connections: connections)
    }

    @Test func nodesNameTheirEventsAndAreKeptById() async throws {
        try await withEngine { harness in
            let check = try await harness.createEvent { $0.name = "check disk" }
            let clean = try await harness.createEvent { $0.name = "clean up" }
            let workflow = try await harness.engine.createWorkflow(
                Self.input(
                    [WorkflowNode(key: "check", eventName: "check disk"), WorkflowNode(key: "clean", eventName: "clean up", timeoutSeconds: 30)],
                    [WorkflowConnection(from: "check", to: "clean", when: .onFailure)]
                ),
                by: harness.owner
            )
            #expect(workflow.nodes.map(\.eventId) == [check.id, clean.id] && workflow.nodes.allSatisfy { $0.eventName == nil })
            #expect(workflow.status == .active && workflow.trigger == .manual)
            #expect(try await harness.engine.workflow(id: workflow.id, visibleTo: harness.owner) == workflow)

            // A user neither sees nor changes another's workflow.
            let other = try await harness.store.insertUser(username: "bob", passwordHash: "-", role: .user, now: Date())
            #expect(try await harness.engine.workflows(visibleTo: other).isEmpty)
            await #expect(throws: CroniumError.notFound("workflow \(workflow.id)")) {
                _ = try await harness.engine.updateWorkflow(id: workflow.id, with: WorkflowInput(status: .paused), by: other)
            }
            let paused = try await harness.engine.updateWorkflow(id: workflow.id, with: WorkflowInput(status: .paused), by: harness.owner)
            #expect(paused.status == .paused && paused.nodes == workflow.nodes)
            try await harness.engine.deleteWorkflow(id: workflow.id, by: harness.owner)
            #expect(try await harness.engine.workflows(visibleTo: harness.owner).isEmpty)
        }
    }

    /// A cycle, an unknown event, a misspelled key and a schedule on a manual workflow: all named,
    /// and nothing stored.
    @Test func everyProblemIsNamedAndNothingIsStored() async throws {
        try await withEngine { harness in
            _ = try await harness.createEvent { $0.name = "check" }
            var input = Self.input(
                [
                    WorkflowNode(key: "a", eventName: "check"), WorkflowNode(key: "b", eventName: "no such event"),
                    WorkflowNode(key: "c d", eventName: "check"), WorkflowNode(key: "e", eventName: "check", retries: 99),
                ],
                [
                    WorkflowConnection(from: "a", to: "b"), WorkflowConnection(from: "b", to: "e"), WorkflowConnection(from: "e", to: "b"),
                ]
            )
            input.schedule = .cron("0 * * * *")
            let error = await #expect(throws: ValidationError.self) { _ = try await harness.engine.createWorkflow(input, by: harness.owner) }
            #expect(
                error?.problems == [
                    FieldProblem(field: "schedule", message: "only a SCHEDULE workflow has a schedule; set trigger to SCHEDULE"),
                    FieldProblem(
                        field: "nodes[2].key",
                        message: "'c d' is not a key: use letters, digits, - and _ (at most 64), starting with a letter"
                    ),
                    FieldProblem(field: "connections", message: "the connections make a cycle: b → e → b"),
                    FieldProblem(field: "nodes[3].retries", message: "must be between 0 and 10"),
                    FieldProblem(field: "nodes[1].eventName", message: "there is no event named 'no such event' that the workflow's owner may run"),
                ]
            )
            #expect(try await harness.engine.workflows(visibleTo: harness.owner).isEmpty)

            let noSchedule = await #expect(throws: ValidationError.self) {
                _ = try await harness.engine.createWorkflow(
                    WorkflowInput(name: "timed", trigger: .schedule, nodes: [WorkflowNode(key: "a", eventName: "check")]),
                    by: harness.owner
                )
            }
            #expect(noSchedule?.problems == [FieldProblem(field: "schedule", message: "a SCHEDULE workflow needs a schedule")])
        }
    }

    /// A node's placement is checked as the node would run its event: here no executor serves
    /// `REMOTE`, so the node is refused on its runLocation, and another user's private event is
    /// not there to run.
    @Test func aNodesPlacementAndItsEventsOwnerAreChecked() async throws {
        try await withEngine { harness in
            _ = try await harness.createEvent { $0.name = "mine" }
            let bob = try await harness.store.insertUser(username: "bob", passwordHash: "-", role: .user, now: Date())
            _ = try await harness.engine.createEvent(
                {
                    var input = EventInput()
                    (input.name, input.type, input.content) = ("bobs", .bash, "true")
                    return input
                }(),
                by: bob
            )
            let error = await #expect(throws: ValidationError.self) {
                _ = try await harness.engine.createWorkflow(
                    Self.input([WorkflowNode(key: "far", eventName: "mine", runLocation: .remote, serverTag: "web")], []),
                    by: harness.owner
                )
            }
            #expect(error?.problems.map(\.field) == ["nodes[0].runLocation"])
            // Bob's event is his: his workflow may run it, another user's may not see it.
            let carol = try await harness.store.insertUser(username: "carol", passwordHash: "-", role: .user, now: Date())
            let refused = await #expect(throws: ValidationError.self) {
                _ = try await harness.engine.createWorkflow(Self.input([WorkflowNode(key: "a", eventName: "bobs")], []), by: carol)
            }
            #expect(refused?.problems.map(\.message) == ["there is no event named 'bobs' that the workflow's owner may run"])
            #expect(try await harness.engine.createWorkflow(Self.input([WorkflowNode(key: "a", eventName: "bobs")], []), by: bob).nodes.count == 1)
        }
    }
}

import CroniumCore
import Foundation
import Testing

@testable import CroniumStore

@Suite struct WorkflowStoreTests {
    static func workflow(owner: UserID, name: String = "disk") -> Workflow {
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        return Workflow(
            id: 0,
            ownerId: owner,
            name: name,
            description: "check, then clean up or report",
            trigger: .schedule,
            schedule: .cron("0 * * * *", timeZone: "Europe/Berlin"),
            nodes: [
                WorkflowNode(key: "check", eventId: 1, input: .object(["path": .string("/var")])),
                WorkflowNode(
                    key: "cleanup",
                    eventId: 2,
                    join: .all,
                    runLocation: .container,
                    image: "cronium/runner:bash",
                    timeoutSeconds: 60,
                    retries: 2
                ),
            ],
            connections: [WorkflowConnection(from: "check", to: "cleanup", when: .onFailure)],
            createdAt: now,
            updatedAt: now
        )
    }

    @Test func aWorkflowIsStoredWholeAndItsNameIsItsOwners() async throws {
        try await withStore { store, user in
            let saved = try await store.saveWorkflow(Self.workflow(owner: user.id))
            #expect(saved.id.rawValue > 0)
            #expect(try await store.workflow(id: saved.id) == saved)
            // Another of the same name is a conflict, and changes nothing.
            let twice = await #expect(throws: CroniumError.self) { try await store.saveWorkflow(Self.workflow(owner: user.id)) }
            #expect(twice?.code == .conflict)
            #expect(try await store.workflows(ownerId: user.id).count == 1)

            var changed = saved
            changed.status = .paused
            changed.connections = []
            _ = try await store.saveWorkflow(changed)
            #expect(try await store.workflow(id: saved.id) == changed)

            let other = try await store.insertUser(username: "bob", passwordHash: "x", role: .user, now: Date())
            let theirs = try await store.saveWorkflow(Self.workflow(owner: other.id))
            #expect(try await store.workflows(ownerId: other.id).map(\.id) == [theirs.id])
            #expect(try await store.workflows(ownerId: nil).map(\.id) == [saved.id, theirs.id])

            #expect(try await store.deleteWorkflow(id: saved.id))
            #expect(try await !store.deleteWorkflow(id: saved.id))
            #expect(try await store.workflow(id: saved.id) == nil)
            let gone = await #expect(throws: CroniumError.self) { try await store.saveWorkflow(changed) }
            #expect(gone?.code == .notFound)
        }
    }

    /// A run's node states are remembered as written, and read back as stored: a write that was
    /// rolled back is not what the next transaction sees.
    @Test func aRunsNodeStatesReadBackAsStoredAfterARollback() async throws {
        try await withStore { store, user in
            let workflow = try await store.saveWorkflow(Self.workflow(owner: user.id))
            let pending = [WorkflowRunNode(key: "check", state: .pending), WorkflowRunNode(key: "cleanup", state: .pending)]
            let start = WorkflowRun(
                id: 0,
                workflowId: workflow.id,
                status: .running,
                trigger: .manual,
                input: nil,
                triggeredBy: nil,
                createdAt: Date(),
                nodes: pending
            )
            let id = try await store.withQueueTransaction { try await $0.insertWorkflowRun(start, definition: workflow) }
            var run = try #require(try await store.withQueueTransaction { try await $0.workflowRun(id) }).run
            #expect(run.nodes == pending)

            run.nodes[0].state = .ended(.success, condition: nil)
            run.nodes[0].output = .object(["free": .integer(3)])
            let written = run
            try await store.withQueueTransaction { try await $0.updateWorkflowRun(written) }
            #expect(try await store.withQueueTransaction { try await $0.workflowRun(id) }?.run.nodes == written.nodes)

            struct Abandoned: Error {}
            var changed = written
            changed.nodes[1].state = .skipped(reason: "abandoned")
            let abandoned = changed
            await #expect(throws: Abandoned.self) {
                try await store.withQueueTransaction { tx in
                    try await tx.updateWorkflowRun(abandoned)
                    throw Abandoned()
                }
            }
            #expect(try await store.withQueueTransaction { try await $0.workflowRun(id) }?.run.nodes == written.nodes)
            // The store's own read (not the queue's) agrees.
            #expect(try await store.workflowRun(id: id)?.nodes == written.nodes)
        }
    }

    /// A run's definition is decoded once; a run that got a rolled-back run's id back (same id,
    /// another workflow or start) does not find the other's definition.
    @Test func aRunsDefinitionIsRememberedForThatRunOnly() {
        let definitions = WorkflowDefinitions()
        let definition = Self.workflow(owner: 1)
        let run = WorkflowRun(id: 7, workflowId: 3, status: .running, trigger: .manual, input: nil, triggeredBy: nil, createdAt: Date(), nodes: [])
        #expect(definitions.definition(of: run) == nil)
        definitions.remember(definition, of: run)
        #expect(definitions.definition(of: run) == definition)
        var other = run
        other.createdAt = run.createdAt + 1
        #expect(definitions.definition(of: other) == nil)
        other = run
        other.workflowId = 4
        #expect(definitions.definition(of: other) == nil)
        // Bounded: the oldest go.
        for id in 100..<(100 + Int64(WorkflowDefinitions.capacity)) {
            var next = run
            next.id = WorkflowRunID(id)
            definitions.remember(definition, of: next)
        }
        #expect(definitions.definition(of: run) == nil)
    }
}

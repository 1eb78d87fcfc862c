import CroniumCore
import CroniumEngine
import CroniumExecutors
import CroniumStore
import CroniumTesting
import Foundation
import Logging
import Synchronization
import Testing

/// Runs as workflow nodes see them, without the runtime API: a node's script says what it does
/// (`ok`, `fail`, `sleep 1`), and its output is its node name with the input it received, so a
/// test sees what each node was handed.
final class EchoExecutor: Executor {
    /// When each node's run started and ended, by node.
    let times = Mutex<[String: (start: ContinuousClock.Instant, end: ContinuousClock.Instant)]>([:])

    func prepare(_ context: ExecutionContext, output: RunOutput) async throws(ExecutionError) -> any PreparedRun {
        Run(context: context, executor: self)
    }

    struct Run: PreparedRun {
        let context: ExecutionContext
        let executor: EchoExecutor

        func run(output: RunOutput, stops: StopRequests) async -> ExecutionOutcome {
            await stops.cancelling { await echo() }
        }

        func echo() async -> ExecutionOutcome {
            let started = ContinuousClock.now
            let script = context.event.content
            if script.hasPrefix("sleep ") { try? await Task.sleep(for: .seconds(Double(script.dropFirst(6)) ?? 0)) }
            executor.times.withLock { $0[context.event.name] = (started, .now) }
            var outcome: ExecutionOutcome = script == "fail" ? .failure(.exitStatus, "exited with status 1", exitCode: 1) : .success
            let received = context.input.flatMap(JSONValue.init(text:)) ?? .null
            outcome.outputValue = JSONValue.object(["node": .string(context.event.name), "received": received]).text
            return outcome
        }

        func teardown() async {}
    }
}

@Suite struct WorkflowRunTests {
    func withEcho(_ body: (EngineHarness, EchoExecutor) async throws -> Void) async throws {
        let echo = EchoExecutor()
        try await withEngine(executors: { $0.register(echo, at: .local, for: [.bash]) }) { harness in try await body(harness, echo) }
    }

    /// Events named after the nodes, with their scripts.
    func events(_ harness: EngineHarness, _ scripts: [String: String]) async throws {
        for (name, script) in scripts.sorted(by: { $0.key < $1.key }) {
            _ = try await harness.createEvent {
                $0.name = name
                $0.content = script
            }
        }
    }

    func finished(_ harness: EngineHarness, _ id: WorkflowRunID) async throws -> WorkflowRun {
        var run: WorkflowRun?
        // Long enough for the whole suite on two loaded cores.
        _ = try await eventually(timeout: .seconds(60)) {
            run = try await harness.engine.workflowRun(id: id, visibleTo: harness.owner)
            return run?.status != .running
        }
        return try #require(run)
    }

    /// A → B, A → C, B + C → D, with B and C sleeping a second each: they run together, and D
    /// receives both outputs keyed by node; the trigger's input reaches the root.
    @Test func aDiamondRunsItsBranchesTogetherAndJoinsTheirOutputs() async throws {
        try await withEcho { harness, echo in
            try await events(harness, ["A": "ok", "B": "sleep 1", "C": "sleep 1", "D": "ok"])
            let workflow = try await harness.engine.createWorkflow(
                WorkflowInput(
                    name: "diamond",
                    nodes: ["A", "B", "C", "D"].map { WorkflowNode(key: $0, eventName: $0) },
                    connections: [("A", "B"), ("A", "C"), ("B", "D"), ("C", "D")].map { WorkflowConnection(from: $0.0, to: $0.1) }
                ),
                by: harness.owner
            )
            let run = try await finished(
                harness,
                try await harness.engine.runWorkflow(id: workflow.id, by: harness.owner, input: .object(["n": .integer(1)]))
            )
            #expect(run.status == .success)
            #expect(run.nodes.allSatisfy { if case .ended(.success, _) = $0.state { true } else { false } })
            let outputs = Dictionary(uniqueKeysWithValues: run.nodes.map { ($0.key, $0.output ?? .null) })
            #expect(outputs["A"] == .object(["node": .string("A"), "received": .object(["n": .integer(1)])]))
            #expect(outputs["D"] == .object(["node": .string("D"), "received": .object(["B": outputs["B"]!, "C": outputs["C"]!])]))
            let times = echo.times.withLock { $0 }
            let (b, c) = (try #require(times["B"]), try #require(times["C"]))
            // Overlapping in time (how fast the whole run goes is for cronium-bench).
            #expect(b.start < c.end && c.start < b.end, "B and C did not overlap")
            // Every node ran once, as a WORKFLOW run linked to its node.
            let executions = try await harness.store.executions(eventId: nil, status: nil, visibleTo: nil, beforeId: nil, limit: 50)
            #expect(executions.count == 4 && executions.allSatisfy { $0.trigger == .workflow && $0.workflowRunId == run.id })
            #expect(Set(executions.compactMap(\.workflowNode)) == ["A", "B", "C", "D"])
        }
    }

    /// A failing check takes its ON_FAILURE branch; the ON_SUCCESS branch is skipped with the
    /// connection that did not hold, and what only it leads to too; the run ends PARTIAL.
    @Test func aFailureTakesItsBranchAndTheRestIsSkippedWithReasons() async throws {
        try await withEcho { harness, _ in
            try await events(harness, ["check": "fail", "cleanup": "ok", "report": "ok", "publish": "ok"])
            let workflow = try await harness.engine.createWorkflow(
                WorkflowInput(
                    name: "disk",
                    nodes: ["check", "cleanup", "report", "publish"].map { WorkflowNode(key: $0, eventName: $0) },
                    connections: [
                        WorkflowConnection(from: "check", to: "cleanup", when: .onFailure),
                        WorkflowConnection(from: "check", to: "report", when: .onSuccess),
                        WorkflowConnection(from: "report", to: "publish"),
                    ]
                ),
                by: harness.owner
            )
            let run = try await finished(harness, try await harness.engine.runWorkflow(id: workflow.id, by: harness.owner))
            #expect(run.status == .partial)
            let states = Dictionary(uniqueKeysWithValues: run.nodes.map { ($0.key, $0.state) })
            #expect(states["check"] == .ended(.failure, condition: nil))
            #expect(states["cleanup"] == .ended(.success, condition: nil))
            #expect(states["report"] == .skipped(reason: "check -[ON_SUCCESS]-> report did not hold: check ended FAILURE"))
            #expect(states["publish"] == .skipped(reason: "report -[ON_SUCCESS]-> publish did not hold: report was skipped"))
            #expect(run.finishedAt != nil)
        }
    }

    /// Cancelling a run stops its node under way and cancels the rest.
    @Test func cancellingARunStopsWhatRunsAndCancelsTheRest() async throws {
        try await withEcho { harness, echo in
            try await events(harness, ["slow": "sleep 30", "after": "ok"])
            let workflow = try await harness.engine.createWorkflow(
                WorkflowInput(
                    name: "slow",
                    nodes: [WorkflowNode(key: "slow", eventName: "slow"), WorkflowNode(key: "after", eventName: "after")],
                    connections: [WorkflowConnection(from: "slow", to: "after", when: .always)]
                ),
                by: harness.owner
            )
            let id = try await harness.engine.runWorkflow(id: workflow.id, by: harness.owner)
            #expect(
                try await eventually {
                    try await harness.store.executions(eventId: nil, status: .running, visibleTo: nil, beforeId: nil, limit: 5).count == 1
                }
            )
            let cancelling = try await harness.engine.cancelWorkflowRun(id: id, by: harness.owner)
            #expect(cancelling.cancelReason == "cancelled by owner")
            let run = try await finished(harness, id)
            #expect(run.status == .cancelled)
            #expect(run.nodes.map(\.state) == [.ended(.cancelled, condition: nil), .cancelled])
            let again = await #expect(throws: CroniumError.self) { _ = try await harness.engine.cancelWorkflowRun(id: id, by: harness.owner) }
            #expect(again?.code == .executionEnded)
            #expect(echo.times.withLock { $0["after"] } == nil)
        }
    }
}

extension WorkflowRunTests {
    /// A node that was running when the server died ends, at the next start, as an interrupted
    /// failure; then its ON_FAILURE connection applies and the run goes on: nothing runs twice.
    @Test func aNodeInterruptedByACrashFailsAndItsFailureBranchRuns() async throws {
        let directory = try TemporaryDirectory("workflow-crash")
        defer { directory.remove() }
        let echo = EchoExecutor()
        let workflow = try await withEngine(directory: directory, executors: { $0.register(echo, at: .local, for: [.bash]) }) { harness in
            try await events(harness, ["work": "ok", "repair": "ok", "report": "ok"])
            return try await harness.engine.createWorkflow(
                WorkflowInput(
                    name: "crash",
                    nodes: ["work", "repair", "report"].map { WorkflowNode(key: $0, eventName: $0) },
                    connections: [
                        WorkflowConnection(from: "work", to: "repair", when: .onFailure), WorkflowConnection(from: "work", to: "report"),
                    ]
                ),
                by: harness.owner
            )
        }
        // A server started the run and claimed its root, then died.
        let store = try await Database.openSQLite(path: directory.appending("cronium.sqlite"), logger: .init(label: "t"))
        let now = Date()
        let runId = try await RunQueue(queue: store).startWorkflow(workflow, trigger: .manual, input: nil, triggeredBy: nil, now: now)
        #expect(
            try await store.claimAndStart(owner: "crashed-node", limit: 1, now: now, leaseUntil: now + 3600).map(\.execution.workflowNode) == ["work"]
        )
        try await store.shutdown()

        try await withEngine(directory: directory, executors: { $0.register(echo, at: .local, for: [.bash]) }) { harness in
            let run = try await finished(harness, runId)
            #expect(run.status == .partial)
            let states = Dictionary(uniqueKeysWithValues: run.nodes.map { ($0.key, $0.state) })
            #expect(states["work"] == .ended(.failure, condition: nil))
            #expect(states["repair"] == .ended(.success, condition: nil))
            #expect(states["report"] == .skipped(reason: "work -[ON_SUCCESS]-> report did not hold: work ended FAILURE"))
            // The interrupted node did not run again, and each of the others ran once.
            let executions = try await harness.store.executions(eventId: nil, status: nil, visibleTo: nil, beforeId: nil, limit: 50)
            #expect(executions.compactMap(\.workflowNode).sorted() == ["repair", "work"])
            #expect(echo.times.withLock { Set($0.keys) } == ["repair"])
        }
    }
}

extension WorkflowRunTests {
    /// Deleting a workflow cancels its runs going on first: nothing of it runs on.
    @Test func deletingAWorkflowCancelsItsRuns() async throws {
        try await withEcho { harness, _ in
            try await events(harness, ["slow": "sleep 30"])
            let workflow = try await harness.engine.createWorkflow(
                WorkflowInput(name: "doomed", nodes: [WorkflowNode(key: "slow", eventName: "slow")], connections: []),
                by: harness.owner
            )
            let id = try await harness.engine.runWorkflow(id: workflow.id, by: harness.owner)
            func executions() async throws -> [Execution] {
                try await harness.store.executions(eventId: nil, status: nil, visibleTo: nil, beforeId: nil, limit: 5)
            }
            #expect(try await eventually { try await executions().first?.status == .running })
            try await harness.engine.deleteWorkflow(id: workflow.id, by: harness.owner)
            #expect(try await eventually(timeout: .seconds(60)) { try await executions().first?.status.isFinal == true })
            let execution = try #require(try await executions().first)
            #expect(execution.status == .cancelled && execution.error == "the workflow was deleted")
            #expect(try await harness.store.workflowRun(id: id) == nil)
        }
    }
}

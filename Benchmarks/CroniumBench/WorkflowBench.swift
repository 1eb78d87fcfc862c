import CroniumCore
import CroniumEngine
import CroniumExecutors
import Foundation

/// A2, A3 and the diamond: what running events as a workflow adds to running their processes one
/// after another, against the raw starts of the same scripts under the same isolation, measured in
/// the same run.
struct WorkflowBench {
    let samples: Int
    let fiboSamples: Int

    func run(sandboxed: Bool) async throws -> [BenchResult] {
        let label = sandboxed ? "bwrap" : "plain"
        // A fresh engine: its first workflow run is the one after a start.
        let bench = try await BenchEngine(sandboxed: sandboxed, maxConcurrentRuns: 16)
        if sandboxed && bench.isolation.sandbox == nil {
            try await bench.stop()
            return [BenchResult(id: "A2", metric: "sandboxed workflows", value: .nan, unit: "", target: "", detail: "skipped: no bubblewrap here")]
        }
        defer { Task { try? await bench.stop() } }
        let local = LocalRunBenches(samples: samples, jobs: 0, concurrency: 1)
        var results: [BenchResult] = []

        // A2: three bash nodes in a row.
        let three = try await chain(bench, script: "true", type: .bash, length: 3)
        let first = try await timeRun(bench, three, nodes: 3)
        let raw3 = try local.rawCommand(bench, script: "true")
        let single = try await bench.createBashEvent("true")
        var workflowTimes: [Double] = []
        var rawTimes: [Double] = []
        var singleTimes: [Double] = []
        var executorTimes: [Double] = []
        for _ in 0..<samples {
            workflowTimes.append(try await timeRun(bench, three, nodes: 3))
            rawTimes.append(rawSequence(raw3, count: 3))
            singleTimes.append(try await singleRuns(bench, single, count: 3))
            executorTimes.append(await executorSequence(bench, single, count: 3))
        }
        let (workflow, raw, singles) = (Summary(workflowTimes), Summary(rawTimes), Summary(singleTimes))
        let executor = Summary(executorTimes)
        results.append(
            BenchResult(
                id: "A2",
                metric: "trigger → done of a 3-node sequential bash workflow, p50 above its 3 raw spawns (\(label))",
                value: workflow.p50 - raw.p50,
                unit: "ms",
                baseline: raw.p50,
                target: "≤ 3 ms",
                pass: workflow.p50 - raw.p50 <= 3 && first - raw.p50 <= 3,
                detail:
                    "\(label): workflow p50 \(format(workflow.p50)) p99 \(format(workflow.p99)) ms; 3 raw spawns p50 \(format(raw.p50)) ms; the same event run 3 times one after another through the engine, no workflow, p50 \(format(singles.p50)) ms; 3 runs of the executor alone (the boundary: run user, cgroup, limits, seccomp; no queue, no store) p50 \(format(executor.p50)) ms, so the workflow is \(format(workflow.p50 - executor.p50)) ms above the boundary's own cost; the first run after a start \(format(first)) ms (\(format(first - raw.p50)) above); \(samples) runs. Windmill publishes 103 ms for 3 steps, Airflow about 3.8 s"
            )
        )

        // A3: 40 Python nodes of fibo(10), and 10 of fibo(33).
        for (nodes, n, count) in [(40, 10, samples > 30 ? 10 : 3), (10, 33, fiboSamples)] {
            let script = "def fibo(n):\n    return n if n < 2 else fibo(n - 1) + fibo(n - 2)\nprint(fibo(\(n)))\n"
            let python = try await chain(bench, script: script, type: .python, length: nodes)
            let rawPython = try local.rawCommand(bench, script: script, type: .python)
            var runTimes: [Double] = []
            var rawRuns: [Double] = []
            for _ in 0..<count {
                runTimes.append(try await timeRun(bench, python, nodes: nodes))
                rawRuns.append(rawSequence(rawPython, count: nodes))
            }
            let (run, rawRun) = (Summary(runTimes), Summary(rawRuns))
            let perNode = (run.p50 - rawRun.p50) / Double(nodes)
            results.append(
                BenchResult(
                    id: "A3",
                    metric: "\(nodes) sequential Python nodes of fibo(\(n)), time above the raw runs, per node (\(label))",
                    value: perNode,
                    unit: "ms",
                    baseline: rawRun.p50,
                    target: "≤ 1 ms per node",
                    pass: perNode <= 1,
                    detail:
                        "\(label): workflow p50 \(format(run.p50)) ms, \(nodes) raw runs one after another p50 \(format(rawRun.p50)) ms; \(count) runs. Windmill publishes \(n == 10 ? "2.09 s for 40 steps" : "7.70 s for 10 steps")"
                )
            )
        }

        // The diamond: B and C sleep a second each, side by side.
        let diamond = try await diamondWorkflow(bench)
        var diamondTimes: [Double] = []
        for _ in 0..<max(3, samples / 10) { diamondTimes.append(try await timeRun(bench, diamond, nodes: 4)) }
        let diamondRun = Summary(diamondTimes)
        results.append(
            BenchResult(
                id: "A2d",
                metric: "A → B, A → C, B + C → D with B and C sleeping 1 s, trigger → done (\(label))",
                value: diamondRun.p50,
                unit: "ms",
                baseline: 1000,
                target: "< 1100 ms",
                pass: diamondRun.p50 < 1100,
                detail:
                    "\(label): p50 \(format(diamondRun.p50)) ms, max \(format(diamondTimes.max() ?? .nan)) ms over \(diamondTimes.count) runs: the branches overlap"
            )
        )
        return results
    }

    /// `length` events of `script`, one after another.
    private func chain(_ bench: BenchEngine, script: String, type: EventType, length: Int) async throws -> Workflow {
        var nodes: [WorkflowNode] = []
        for index in 0..<length {
            let event = try await bench.createBashEvent(script, type: type)
            nodes.append(WorkflowNode(key: "n\(index)", eventId: event.id))
        }
        let connections = (1..<max(length, 1)).map { WorkflowConnection(from: "n\($0 - 1)", to: "n\($0)") }
        return try await bench.engine.createWorkflow(
            WorkflowInput(name: "chain-\(type.rawValue)-\(length)-\(UUID().uuidString.prefix(4))", nodes: nodes, connections: connections),
            by: bench.owner
        )
    }

    private func diamondWorkflow(_ bench: BenchEngine) async throws -> Workflow {
        var nodes: [WorkflowNode] = []
        for (key, script) in [("A", "true"), ("B", "sleep 1"), ("C", "sleep 1"), ("D", "true")] {
            nodes.append(WorkflowNode(key: key, eventId: try await bench.createBashEvent(script).id))
        }
        let connections = [("A", "B"), ("A", "C"), ("B", "D"), ("C", "D")].map { WorkflowConnection(from: $0.0, to: $0.1) }
        return try await bench.engine.createWorkflow(WorkflowInput(name: "diamond", nodes: nodes, connections: connections), by: bench.owner)
    }

    /// Milliseconds from asking for a run to its last node's end recorded, watched without
    /// touching the store (which would compete with the engine for it); checked afterwards.
    private func timeRun(_ bench: BenchEngine, _ workflow: Workflow, nodes: Int) async throws -> Double {
        let before = bench.observer.completedCount
        let start = ContinuousClock.now
        let runId = try await bench.engine.runWorkflow(id: workflow.id, by: bench.owner)
        await bench.observer.waitForCompleted(before + nodes)
        try await bench.waitForRecordedEnds()
        let elapsed = milliseconds(ContinuousClock.now - start)
        let run = try await bench.engine.workflowRun(id: runId, visibleTo: bench.owner)
        guard run.status == .success else { throw BenchError("workflow run \(runId) ended \(run.status.rawValue), not SUCCESS") }
        return elapsed
    }

    /// Milliseconds for `count` runs of `event` through the engine, each asked for when the one
    /// before has ended: what a chain costs without the workflow's own steps.
    private func singleRuns(_ bench: BenchEngine, _ event: Event, count: Int) async throws -> Double {
        let start = ContinuousClock.now
        for _ in 0..<count {
            let id = try await bench.engine.enqueue(eventId: event.id, trigger: .manual, triggeredBy: nil)
            try await bench.waitUntilIdle(after: id)
        }
        return milliseconds(ContinuousClock.now - start)
    }

    /// Milliseconds for `count` runs of the local executor alone, one after another: the
    /// boundary's cost without the engine's.
    private func executorSequence(_ bench: BenchEngine, _ event: Event, count: Int) async -> Double {
        let start = ContinuousClock.now
        for index in 0..<count {
            let id = ExecutionID(Int64.max - 1_000 - Int64(index))
            let context = ExecutionContext(executionId: id, event: event, environment: [:], deadline: .now + .seconds(60))
            _ = await RunSupervisor.run(context, on: bench.local, output: RunOutput { _, _ in })
        }
        return milliseconds(ContinuousClock.now - start)
    }

    /// Milliseconds for `count` raw runs of `command`, one after another.
    private func rawSequence(_ command: RawCommand, count: Int) -> Double {
        let start = ContinuousClock.now
        for _ in 0..<count { _ = RawSpawn.run(command, captureOutput: false) }
        return milliseconds(ContinuousClock.now - start)
    }
}

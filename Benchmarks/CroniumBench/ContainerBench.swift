import CroniumCore
import CroniumExecutors
import Foundation

/// A8: what Cronium's container path (prepare, run with its log stream, inspect, teardown) adds to
/// the engine's own create, start, wait and remove of the same command with the same settings,
/// measured alternately in one run; and, for scale, what bubblewrap adds to a plain spawn of the
/// same script (both raw, without Cronium).
struct ContainerBench {
    let samples: Int
    let socket: String?

    func run() async throws -> [BenchResult] {
        var results: [BenchResult] = []
        let engine = ContainerEngine.locate(option: socket)
        if let client = try? await engine.client(), try await client.image("cronium/runner:bash") != nil {
            results.append(try await containerPath(client: client, engine: engine))
        } else {
            results.append(
                BenchResult(
                    id: "A8",
                    metric: "container path above the engine's own cost",
                    value: .nan,
                    unit: "ms",
                    target: "≤ 20 ms",
                    detail:
                        "skipped: no container engine with cronium/runner:bash (\(engine.socketPath ?? engine.source)); start one and run `cronium images build`"
                )
            )
        }
        results.append(try await sandboxCost())
        return results
    }

    private func containerPath(client: DockerClient, engine: ContainerEngine) async throws -> BenchResult {
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("cronium-bench-\(UUID().uuidString.prefix(8))").path
        defer { try? FileManager.default.removeItem(atPath: work) }
        let executor = ContainerExecutor(
            configuration: .init(engine: engine, workRoot: "\(work)/runs", instance: "bench-\(UUID().uuidString.prefix(8))")
        )
        var input = EventInput()
        input.name = "container bench"
        input.type = .bash
        input.content = "true"
        input.runLocation = .container
        let event = try Event.create(from: input, ownerId: 1, now: Date())
        // The engine's own: the settings the executor gives a run, the same command.
        let limits = RunLimits.containerDefaults
        let raw = ContainerSpec(
            image: "cronium/runner:bash",
            command: ["bash", "-c", "true"],
            user: ContainerExecutor.user,
            workingDirectory: "/work",
            environment: ["PATH": "/usr/bin:/bin"],
            labels: ["cronium.bench": "raw"],
            host: .init(
                binds: [],
                tmpfs: ["/work": "rw,exec,nosuid,nodev,size=256m,mode=1777", "/tmp": "rw,nosuid,nodev,size=256m,mode=1777"],
                network: "none",
                memoryBytes: Int64(limits.memoryMB ?? 512) << 20,
                nanoCPUs: 500_000_000,
                pidsLimit: Int64(limits.processes ?? 128),
                openFiles: Int64(limits.openFiles ?? 1024)
            )
        )
        var cronium: [Double] = []
        var engineOwn: [Double] = []
        let warmup = 2
        for index in 0..<(samples + warmup) {
            let started = ContinuousClock.now
            let context = ExecutionContext(executionId: ExecutionID(Int64(index + 1)), event: event, environment: [:], deadline: .now + .seconds(120))
            let prepared = try await executor.prepare(context, output: RunOutput { _, _ in })
            let outcome = await prepared.run(output: RunOutput { _, _ in }, stops: .none)
            await prepared.teardown()
            let took = milliseconds(ContinuousClock.now - started)
            guard outcome.status == .success else { throw BenchError("the container bench's run failed: \(outcome.error?.message ?? "")") }

            let rawStarted = ContinuousClock.now
            let id = try await client.createContainer(raw, name: "cronium-bench-\(UInt32.random(in: 0...UInt32.max))")
            try await client.startContainer(id)
            _ = try await client.waitContainer(id)
            try await client.removeContainer(id)
            let rawTook = milliseconds(ContinuousClock.now - rawStarted)
            if index >= warmup {
                cronium.append(took)
                engineOwn.append(rawTook)
            }
        }
        let (ours, theirs) = (Summary(cronium), Summary(engineOwn))
        let above = ours.p50 - theirs.p50
        return BenchResult(
            id: "A8",
            metric: "container run (bash true), p50 above the engine's own create+start+wait+remove",
            value: above,
            unit: "ms",
            baseline: theirs.p50,
            target: "≤ 20 ms",
            pass: above <= 20,
            detail:
                "\(client.engine): Cronium p50 \(format(ours.p50)) p99 \(format(ours.p99)) ms; the engine alone p50 \(format(theirs.p50)) p99 \(format(theirs.p99)) ms; \(samples) runs each, alternating"
        )
    }

    /// bubblewrap's own cost: the executor's bwrap invocation of a script against a plain spawn
    /// of the same script, both raw.
    private func sandboxCost() async throws -> BenchResult {
        let plainBench = try await BenchEngine(sandboxed: false, maxConcurrentRuns: 1)
        let sandboxBench = try await BenchEngine(sandboxed: true, maxConcurrentRuns: 1)
        let result: Result<BenchResult, any Error>
        do { result = .success(try measureSandbox(plainBench, sandboxBench)) } catch { result = .failure(error) }
        try await plainBench.stop()
        try await sandboxBench.stop()
        return try result.get()
    }

    private func measureSandbox(_ plainBench: BenchEngine, _ sandboxBench: BenchEngine) throws -> BenchResult {
        guard sandboxBench.isolation.sandbox != nil else {
            return BenchResult(
                id: "A8b",
                metric: "bubblewrap over a plain spawn",
                value: .nan,
                unit: "ms",
                target: "",
                detail: "skipped: no bubblewrap sandbox here"
            )
        }
        let local = LocalRunBenches(samples: samples, jobs: 0, concurrency: 1)
        let plain = try local.rawCommand(plainBench, script: "true")
        let sandboxed = try local.rawCommand(sandboxBench, script: "true")
        var plainTimes: [Double] = []
        var sandboxTimes: [Double] = []
        for _ in 0..<(samples * 5) {
            var started = ContinuousClock.now
            _ = RawSpawn.run(plain, captureOutput: false)
            plainTimes.append(milliseconds(ContinuousClock.now - started))
            started = ContinuousClock.now
            _ = RawSpawn.run(sandboxed, captureOutput: false)
            sandboxTimes.append(milliseconds(ContinuousClock.now - started))
        }
        let (without, with) = (Summary(plainTimes), Summary(sandboxTimes))
        return BenchResult(
            id: "A8b",
            metric: "bubblewrap run (bash true), p50 above a plain spawn, both raw",
            value: with.p50 - without.p50,
            unit: "ms",
            baseline: without.p50,
            target: "report",
            detail:
                "bwrap p50 \(format(with.p50)) p99 \(format(with.p99)) ms; plain p50 \(format(without.p50)) p99 \(format(without.p99)) ms; \(samples * 5) each, alternating"
        )
    }
}

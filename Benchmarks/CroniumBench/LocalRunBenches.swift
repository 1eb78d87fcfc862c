import CroniumCore
import CroniumEngine
import CroniumExecutors
import CroniumStore
import Foundation

/// A1 and A4: how much Cronium adds to starting a local process, against `posix_spawn` of the
/// same script under the same isolation, measured in the same run.
struct LocalRunBenches {
    let samples: Int
    let jobs: Int
    let concurrency: Int

    func run(sandboxed: Bool) async throws -> [BenchResult] {
        let bench = try await BenchEngine(sandboxed: sandboxed, maxConcurrentRuns: concurrency)
        if sandboxed && bench.isolation.sandbox == nil {
            try await bench.stop()
            return [
                BenchResult(
                    id: "A1/A4",
                    metric: "sandboxed runs",
                    value: .nan,
                    unit: "",
                    target: "",
                    detail: "skipped: bubblewrap cannot create namespaces here"
                )
            ]
        }
        let label = sandboxed ? "bwrap" : "plain"
        let latency = try await startLatency(bench)
        let throughput = try await jobsPerSecond(bench)
        try await bench.stop()
        // The same throughput with the engine counting into a Prometheus registry.
        let counted = try await BenchEngine(sandboxed: sandboxed, maxConcurrentRuns: concurrency, metrics: true)
        let withMetrics = try await jobsPerSecond(counted, executorAlone: false)
        try await counted.stop()
        let boundary = latency.executor.p50 - latency.raw.p50
        return [
            BenchResult(
                id: "A1b",
                metric: "executor alone → process start, p50 above the same raw invocation (\(label))",
                value: boundary,
                unit: "ms",
                baseline: latency.raw.p50,
                target: "≤ 1 ms",
                pass: boundary <= 1,
                detail:
                    "\(label): what the boundary adds to a spawn as the run user (per-run cgroup \(bench.isolation.cgroups == nil ? "missing" : "reused between runs"), limits, seccomp, files handed over) plus the executor's own steps; executor p50 \(format(latency.executor.p50)) p99 \(format(latency.executor.p99)) ms, raw p50 \(format(latency.raw.p50)) ms"
            ),
            BenchResult(
                id: "A1",
                metric: "enqueue→process start, p50 above raw (\(label))",
                value: latency.engine.p50 - latency.raw.p50,
                unit: "ms",
                baseline: latency.raw.p50,
                target: "≤ 0.3 ms (p99 ≤ 1 ms)",
                pass: latency.engine.p50 - latency.raw.p50 <= 0.3 && latency.engine.p99 - latency.raw.p99 <= 1,
                detail:
                    "\(label): engine p50 \(format(latency.engine.p50)) p99 \(format(latency.engine.p99)) ms; raw spawn p50 \(format(latency.raw.p50)) p99 \(format(latency.raw.p99)) ms; executor alone p50 \(format(latency.executor.p50)) ms; \(samples) runs"
            ),
            BenchResult(
                id: "A4m",
                metric: "trivial bash jobs per second with metrics on, against off (\(label))",
                value: withMetrics.engine,
                unit: "jobs/s",
                baseline: throughput.engine,
                target: "no measurable change",
                detail:
                    "\(label): \(format(withMetrics.engine)) jobs/s counting, \(format(throughput.engine)) without (\(format(100 * (withMetrics.engine / throughput.engine - 1))) %)"
            ),
            BenchResult(
                id: "A4",
                metric: "trivial bash jobs per second (\(label))",
                value: throughput.engine,
                unit: "jobs/s",
                baseline: throughput.raw,
                target: sandboxed ? "≥ 80 % of raw" : "≥ 900/s and ≥ 60 % of raw",
                pass: sandboxed ? throughput.engine >= 0.8 * throughput.raw : throughput.engine >= 900 && throughput.engine >= 0.6 * throughput.raw,
                detail:
                    "\(label): \(jobs) jobs, \(concurrency) at once; \(format(100 * throughput.engine / throughput.raw)) % of the raw rate; the executor alone (no queue, no store) \(format(throughput.executor)) jobs/s"
            ),
        ]
    }

    /// The script prints bash's own clock as its first act, so both paths are timed from "asked
    /// to run" to "the script is running", interpreter start-up included on both sides.
    private func startLatency(_ bench: BenchEngine) async throws -> (engine: Summary, raw: Summary, executor: Summary) {
        let script = "echo $EPOCHREALTIME"
        let event = try await bench.createBashEvent(script)
        let rawCommand = try rawCommand(bench, script: script)
        var engineSamples: [Double] = []
        var rawSamples: [Double] = []
        var executorSamples: [Double] = []
        let warmup = 10
        for index in 0..<(samples + warmup) {
            let asked = Date().timeIntervalSince1970
            let id = try await bench.engine.enqueue(eventId: event.id, trigger: .manual, triggeredBy: nil)
            try await bench.waitUntilIdle(after: id)
            guard let started = bench.observer.firstLine(id).flatMap(Double.init) else {
                throw BenchError("run \(id) printed no start time; is bash older than 5.0?")
            }
            let rawAsked = Date().timeIntervalSince1970
            let rawOutput = RawSpawn.run(rawCommand, captureOutput: true)
            guard let rawStarted = Double(rawOutput.trimmingCharacters(in: .whitespacesAndNewlines)) else {
                throw BenchError("the raw run printed \(rawOutput.debugDescription), not a time")
            }
            let executorAsked = Date().timeIntervalSince1970
            let executorStarted = try await runExecutorAlone(bench, event: event)
            if index >= warmup {
                engineSamples.append((started - asked) * 1000)
                rawSamples.append((rawStarted - rawAsked) * 1000)
                executorSamples.append((executorStarted - executorAsked) * 1000)
            }
        }
        return (Summary(engineSamples), Summary(rawSamples), Summary(executorSamples))
    }

    /// The local executor called directly, without queue or store: splits Cronium's overhead
    /// between the engine's bookkeeping and starting the process.
    private func runExecutorAlone(_ bench: BenchEngine, event: Event) async throws -> Double {
        let observer = RunObserver()
        let executor = ObservedExecutor(inner: bench.local, observer: observer)
        let id = ExecutionID(Int64.max - Int64(UInt32.random(in: 0...UInt32.max)))
        let context = ExecutionContext(executionId: id, event: event, environment: [:], deadline: .now + .seconds(60))
        _ = await RunSupervisor.run(context, on: executor, output: RunOutput { _, _ in })
        guard let started = observer.firstLine(id).flatMap(Double.init) else { throw BenchError("the executor alone printed no start time") }
        return started
    }

    /// The local executor alone, `concurrency` at a time, without queue or store.
    private func executorRate(_ bench: BenchEngine, event: Event) async -> Double {
        let start = ContinuousClock.now
        let base = Int64.max - Int64(jobs) - 1_000_000
        await withTaskGroup(of: Void.self) { group in
            for index in 0..<jobs {
                if index >= concurrency { await group.next() }
                group.addTask {
                    let context = ExecutionContext(
                        executionId: ExecutionID(base + Int64(index)),
                        event: event,
                        environment: [:],
                        deadline: .now + .seconds(60)
                    )
                    _ = await RunSupervisor.run(context, on: bench.local, output: RunOutput { _, _ in })
                }
            }
        }
        return Double(jobs) / (milliseconds(ContinuousClock.now - start) / 1000)
    }

    /// `executorAlone`: also the executor's own rate, without queue or store (nan when not measured).
    func jobsPerSecond(_ bench: BenchEngine, executorAlone: Bool = true) async throws -> (engine: Double, raw: Double, executor: Double) {
        let event = try await bench.createBashEvent("true")
        let raw = RawSpawn.rate(try rawCommand(bench, script: "true"), count: jobs, concurrency: concurrency)
        let alone = executorAlone ? await executorRate(bench, event: event) : .nan
        let before = bench.observer.completedCount
        let start = ContinuousClock.now
        var last: ExecutionID = 0
        for _ in 0..<jobs {
            last = try await bench.engine.enqueue(eventId: event.id, trigger: .manual, triggeredBy: nil)
        }
        await bench.observer.waitForCompleted(before + jobs)
        try await bench.waitForRecordedEnds()
        let elapsed = milliseconds(ContinuousClock.now - start) / 1000
        guard let lastRun = try await bench.store.execution(id: last), lastRun.status == .success else {
            throw BenchError("throughput run \(last) did not succeed")
        }
        return (Double(jobs) / elapsed, raw, alone)
    }

    /// The same interpreter, script and (when sandboxed) bwrap invocation the executor uses, with
    /// its seccomp program and files, as the same user (bubblewrap run by root takes another,
    /// slower path) and with the environment every run gets (`LocalProcessExecutor.prepare`:
    /// with `LANG=C.UTF-8` bash loads its locale, about 0.2 ms here, a cost of the script's
    /// environment and not of Cronium); without the executor's own steps (the run's cgroup,
    /// limits, pipes), whose cost is what A1 and A4 show.
    /// `type`: bash, or python (run as the executor runs it, unbuffered).
    func rawCommand(_ bench: BenchEngine, script: String, type: EventType = .bash) throws -> RawCommand {
        let interpreters = Interpreters.resolve()
        guard let interpreter = type == .python ? interpreters.python : interpreters.bash else {
            throw BenchError("no \(type.rawValue) on this machine")
        }
        let flags = type == .python ? ["-u"] : []
        guard let sandbox = bench.isolation.sandbox else {
            let work = "\(bench.directory)/raw"
            try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
            let path = "\(work)/script-\(UUID().uuidString.prefix(6))"
            try Data(script.utf8).write(to: URL(fileURLWithPath: path))
            return RawCommand(
                argv: [interpreter] + flags + [path],
                user: bench.isolation.switchedUser,
                environment: runEnvironment(bench, home: work, temporary: work)
            )
        }
        let invocation = Sandbox.Invocation(
            runFiles: [("script", Array(script.utf8))],
            network: true,
            diskBytes: 256 << 20,
            extraReadOnlyPaths: [],
            command: [interpreter] + flags + ["\(Sandbox.runDirectory)/script"]
        )
        let argv = try sandbox.prepare(invocation)
        for fd in argv.descriptors { close(fd) }
        return RawCommand(
            argv: argv.arguments,
            user: bench.isolation.switchedUser,
            environment: runEnvironment(bench, home: Sandbox.workDirectory, temporary: "/tmp")
        ) { try sandbox.prepare(invocation).descriptors }
    }

    /// The variables the local executor gives every run whose event sets none.
    private func runEnvironment(_ bench: BenchEngine, home: String, temporary: String) -> [String] {
        let user = bench.isolation.switchedUser?.name ?? bench.isolation.user.name
        return [
            "PATH=\(LocalProcessExecutor.defaultPath)", "LANG=\(LocalProcessExecutor.defaultLanguage)", "USER=\(user)", "LOGNAME=\(user)",
            "HOME=\(home)", "TMPDIR=\(temporary)",
        ]
    }
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

import CroniumCore
import CroniumEngine
import CroniumExecutors
import CroniumStore
import Foundation
import Synchronization

/// A9: a run that prints 10 MB in 100,000 lines, through the whole engine (pipes, line
/// splitting, log hub, capped store writes), against the same script with its output sent
/// to /dev/null; and how late a live subscriber sees each line.
struct LogThroughputBench {
    static let lines = 100_000
    /// 99 characters and a newline: 10 MB in all.
    static let script = "yes \(String(repeating: "x", count: 99)) | head -n \(lines)"

    func run() async throws -> [BenchResult] {
        let bench = try await BenchEngine(sandboxed: false, maxConcurrentRuns: 4)
        do {
            let results = try await measure(bench)
            try await bench.stop()
            return results
        } catch {
            try? await bench.stop()
            throw error
        }
    }

    private func measure(_ bench: BenchEngine) async throws -> [BenchResult] {
        guard let bash = Interpreters.resolve().bash else { throw BenchError("no bash on this machine") }
        let rawStart = ContinuousClock.now
        _ = RawSpawn.run(RawCommand(argv: [bash, "-c", Self.script + " > /dev/null"]), captureOutput: false)
        let raw = milliseconds(ContinuousClock.now - rawStart)

        let event = try await bench.createBashEvent(Self.script)
        let lag = SampleSink()
        let started = ContinuousClock.now
        let id = try await bench.engine.enqueue(eventId: event.id, trigger: .manual, triggeredBy: nil)
        // A follower, as a WebSocket client is: lag is receipt minus the line's time.
        let follow = try await bench.engine.followLog(executionId: id, visibleTo: bench.owner)
        let follower = Task {
            for try await event in follow {
                guard case .lines(let lines) = event else { continue }
                let now = Date()
                for line in lines { lag.add(now.timeIntervalSince(line.time) * 1000) }
            }
        }
        try await bench.waitUntilIdle(after: id)
        let elapsed = milliseconds(ContinuousClock.now - started)
        try await follower.value
        guard let execution = try await bench.store.execution(id: id), execution.status == .success else {
            throw BenchError("the log run \(id) did not succeed")
        }
        let perSecond = Double(Self.lines) / (elapsed / 1000)
        let lagSummary = Summary(lag.values)
        return [
            BenchResult(
                id: "A9",
                metric: "10 MB log (100k lines) through the engine, time against the same script into /dev/null",
                value: elapsed / raw,
                unit: "×",
                baseline: raw,
                target: "≤ 1.5× and ≥ 200k lines/s",
                pass: elapsed / raw <= 1.5 && perSecond >= 200_000,
                detail:
                    "engine \(format(elapsed)) ms = \(format(perSecond / 1000))k lines/s; raw \(format(raw)) ms; stored \(execution.logBytes - execution.logDroppedBytes) of \(execution.logBytes) bytes (head and tail of the 1 MiB cap)"
            ),
            BenchResult(
                id: "A9b",
                metric: "live subscriber lag p99",
                value: lagSummary.p99,
                unit: "ms",
                target: "≤ 20 ms",
                pass: lagSummary.p99 <= 20,
                detail:
                    "p50 \(format(lagSummary.p50)) p99 \(format(lagSummary.p99)) max \(format(lagSummary.max)) ms over \(lagSummary.count) lines received live"
            ),
        ]
    }
}

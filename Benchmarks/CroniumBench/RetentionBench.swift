import CroniumCore
import CroniumEngine
import CroniumStore
import Foundation

/// A4p: trivial jobs per second while the retention purge removes a million old runs, against
/// the same engine, on the same database, without it.
struct RetentionBench {
    let oldRuns: Int
    let local: LocalRunBenches

    func run() async throws -> BenchResult {
        let seed = FileManager.default.currentDirectoryPath + "/scripts/seed-old-runs.py"
        guard FileManager.default.fileExists(atPath: seed) else { throw BenchError("run cronium-bench from the checkout: \(seed) is missing") }
        let bench = try await BenchEngine(
            sandboxed: false,
            maxConcurrentRuns: local.concurrency,
            configure: { $0.retention.defaults = Retention(runsDays: 90, lastRuns: 0, logsDays: 30) }
        )
        let event = try await bench.createBashEvent("true")
        let process = try Process.run(
            URL(fileURLWithPath: "/usr/bin/python3"),
            arguments: [seed, "\(bench.directory)/cronium.sqlite", "\(event.id)", "\(oldRuns)", "100"]
        )
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw BenchError("\(seed) failed with status \(process.terminationStatus)") }
        let without = try await local.jobsPerSecond(bench, executorAlone: false)
        let purging = Task { try await bench.engine.purgeNow() }
        // Into its removals, past reading the first rows.
        try await Task.sleep(for: .seconds(1))
        let before = try await bench.store.storageFigures().runs
        let started = ContinuousClock.now
        let with = try await local.jobsPerSecond(bench, executorAlone: false)
        let elapsed = milliseconds(ContinuousClock.now - started) / 1000
        let after = try await bench.store.storageFigures().runs
        let removed = Double(before + Int64(local.jobs) - after)
        // Every old run gone before the jobs ended: the purge did not last the whole measurement.
        let finished = after <= Int64(2 * local.jobs + 10)
        purging.cancel()
        _ = try? await purging.value
        try await bench.stop()
        let ratio = with.engine / without.engine
        return BenchResult(
            id: "A4p",
            metric: "trivial bash jobs per second during a purge of \(oldRuns) old runs (plain)",
            value: with.engine,
            unit: "jobs/s",
            baseline: without.engine,
            target: "≥ 90 % of A4 without it",
            pass: ratio >= 0.9 && !finished,
            detail: (finished ? "the purge ended before the jobs did; " : "")
                + "\(format(with.engine)) jobs/s purging, \(format(without.engine)) without (\(format(100 * ratio)) %); the purge removed \(format(removed / elapsed)) runs/s meanwhile"
        )
    }
}

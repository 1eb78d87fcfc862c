import CroniumCore
import CroniumEngine
import CroniumStore
import Foundation

/// A4p: trivial jobs per second while the retention purge removes a million old runs, against
/// the same engine, on the same database, without it.
struct RetentionBench {
    let oldRuns: Int
    let rounds: Int
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
        // Rounds without and with the purge, alternating, so that the machine's drift falls on
        // both alike; the purge is stopped between its rounds and starts again where it was.
        var without: [Double] = []
        var with: [Double] = []
        var removed: [Double] = []
        for _ in 0..<rounds {
            without.append(try await local.jobsPerSecond(bench, executorAlone: false).engine)
            let purging = Task { try await bench.engine.purgeNow() }
            // Into its removals, past reading the first rows.
            try await Task.sleep(for: .seconds(1))
            let before = try await bench.store.storageFigures().runs
            let started = ContinuousClock.now
            with.append(try await local.jobsPerSecond(bench, executorAlone: false).engine)
            let elapsed = milliseconds(ContinuousClock.now - started) / 1000
            removed.append(Double(before + Int64(local.jobs) - (try await bench.store.storageFigures().runs)) / elapsed)
            purging.cancel()
            _ = try? await purging.value
        }
        // Every old run gone before the last round ended: the purge did not last the whole measurement.
        let finished = try await bench.store.storageFigures().runs <= Int64(2 * rounds * local.jobs + 10)
        try await bench.stop()
        let (withPurge, alone) = (Summary(with).p50, Summary(without).p50)
        let ratio = withPurge / alone
        return BenchResult(
            id: "A4p",
            metric: "trivial bash jobs per second during a purge of \(oldRuns) old runs (plain)",
            value: withPurge,
            unit: "jobs/s",
            baseline: alone,
            target: "≥ 90 % of A4 without it",
            pass: ratio >= 0.9 && !finished,
            detail: (finished ? "the purge ended before the jobs did; " : "")
                + "medians of \(rounds) rounds each, alternating: \(format(withPurge)) jobs/s purging, \(format(alone)) without (\(format(100 * ratio)) %); "
                + "the purge removed \(format(Summary(removed).p50)) runs/s meanwhile"
        )
    }
}

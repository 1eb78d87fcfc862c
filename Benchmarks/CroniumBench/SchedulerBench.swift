import CroniumCore
import CroniumEngine
import CroniumStore
import Foundation
import MetricsTestKit

/// A5: how late fires are recorded when many schedules fire every second. The whole engine on a
/// real SQLite file, with no slot to run anything: each instant's ledger rows, runs and next fire
/// times are committed in one transaction, and the lateness of a fire is that commit's time
/// minus the occurrence's (the engine's own `cronium_scheduler_lateness_seconds`).
struct SchedulerBench {
    let seconds: Int

    func run(schedules: Int) async throws -> BenchResult {
        let counted = TestMetrics()
        let bench = try await BenchEngine(sandboxed: false, maxConcurrentRuns: 0, factory: counted) { store, owner in
            // Overlap `allow`: every fire of every event is a new run in the store, the most a
            // second can ask of the scheduler (under `skip` most would be one ledger row).
            var input = benchEventInput(name: "every second", script: "true", schedule: .cron("* * * * * *"))
            input.schedule?.overlap = .allow
            let template = try Event.create(from: input, ownerId: owner.id, now: Date())
            for _ in 0..<schedules { _ = try await store.insertEvent(template) }
        }
        try await Task.sleep(for: .seconds(Double(seconds) + 1))
        let samples = try counted.expectTimer("cronium_scheduler_lateness_seconds").values.map { Double($0) / 1e6 }
        try await bench.stop()
        let summary = Summary(samples)
        return BenchResult(
            id: "A5",
            metric: "cron fire lateness p99, \(schedules) schedules firing every second, recorded",
            value: summary.p99,
            unit: "ms",
            target: schedules >= 10_000 ? "p99 ≤ 5 ms" : "",
            pass: schedules >= 10_000 ? summary.p99 <= 5 : nil,
            detail:
                "\(schedules) schedules: p50 \(format(summary.p50)) p99 \(format(summary.p99)) max \(format(summary.max)) ms over \(summary.count) fires in \(seconds) s, each instant's runs and ledger rows committed"
        )
    }
}

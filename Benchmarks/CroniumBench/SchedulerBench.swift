import CroniumCore
import CroniumEngine
import CroniumStore
import Foundation
import Logging
import Synchronization

/// A5: how late the scheduler hands fires over when many schedules fire every second. The sink
/// only timestamps, so what is measured is the scheduler itself, not the queue behind it.
struct SchedulerBench {
    let seconds: Int

    /// Lateness of every fire: time the sink was called minus the occurrence's scheduled time.
    final class LatenessSink: ScheduleSink {
        let lateness = Mutex<[Double]>([])

        func fire(_ fires: [EventFire], now: Date) async throws {
            let called = Date()
            lateness.withLock { samples in
                for fire in fires {
                    for occurrence in fire.occurrences { samples.append(called.timeIntervalSince(occurrence.scheduledFor) * 1000) }
                }
            }
        }
    }

    func run(schedules: Int) async throws -> BenchResult {
        let scheduler = Scheduler(clock: SystemClock(), misfireThreshold: 5, maxCatchUp: 100, logger: quietLogger())
        let input = benchEventInput(name: "every second", script: "true", schedule: .cron("* * * * * *"))
        let template = try Event.create(from: input, ownerId: 1, now: Date())
        let first = Date(timeIntervalSince1970: (Date().timeIntervalSince1970 + 1).rounded(.up))
        for id in 1...schedules {
            var event = template
            event.id = EventID(Int64(id))
            scheduler.plan(event, nextFire: first)
        }
        let sink = LatenessSink()
        let task = Task { await scheduler.run(sink: sink) }
        try await Task.sleep(until: .now + .seconds(Double(seconds) + first.timeIntervalSinceNow + 0.5))
        task.cancel()
        await task.value
        let summary = Summary(sink.lateness.withLock { $0 })
        let expected = schedules * seconds
        return BenchResult(
            id: "A5", metric: "cron fire lateness p99, \(schedules) schedules firing every second", value: summary.p99, unit: "ms",
            target: schedules >= 10_000 ? "p99 ≤ 5 ms" : "", pass: schedules >= 10_000 ? summary.p99 <= 5 : nil,
            detail: "\(schedules) schedules: p50 \(format(summary.p50)) p99 \(format(summary.p99)) max \(format(summary.max)) ms over \(summary.count) fires (≥ \(expected) expected)")
    }
}

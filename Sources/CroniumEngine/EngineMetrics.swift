import CoreMetrics
import CroniumCore
import CroniumStore
import Foundation

/// What the engine counts, for `/metrics`. Handles come from the factory the server passes (one
/// registry per server, nothing global), so a process may hold several engines, as tests do.
/// Each handle is looked up by its labels in the factory's registry once per use, which costs
/// about a microsecond: nothing next to a run.
public struct EngineMetrics: Sendable {
    let factory: any MetricsFactory

    public init(factory: any MetricsFactory) { self.factory = factory }

    /// Counts nothing: for engines nobody scrapes.
    public static let none = EngineMetrics(factory: NOOPMetricsHandler.instance)

    /// Buckets of the run-duration histogram, in seconds: runs take milliseconds to hours.
    public static let runDurationBuckets: [Duration] = [
        .milliseconds(10), .milliseconds(100), .milliseconds(500), .seconds(1), .seconds(5), .seconds(30), .seconds(60), .seconds(300),
        .seconds(1800), .seconds(3600),
    ]
    /// Buckets of the scheduler-lateness histogram: on time means a few milliseconds.
    public static let latenessBuckets: [Duration] = [
        .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
        .milliseconds(500), .seconds(1), .seconds(5),
    ]

    func received(_ trigger: ExecutionTrigger, count: Int = 1) {
        Counter(label: "cronium_runs_received_total", dimensions: [("trigger", trigger.rawValue)], factory: factory).increment(by: count)
    }

    /// A run's end: counted by type and status, failures also by reason, and its duration.
    func finished(type: EventType, outcome: ExecutionOutcome, duration: TimeInterval) {
        Counter(label: "cronium_runs_finished_total", dimensions: [("type", type.rawValue), ("status", outcome.status.rawValue)], factory: factory)
            .increment()
        if outcome.status != .success {
            let reason = outcome.error?.code.rawValue ?? outcome.status.rawValue
            Counter(label: "cronium_runs_failed_total", dimensions: [("type", type.rawValue), ("reason", reason)], factory: factory).increment()
        }
        Timer(label: "cronium_run_duration_seconds", dimensions: [("type", type.rawValue)], factory: factory)
            .recordNanoseconds(Int64(max(duration, 0) * 1e9))
    }

    func active(_ count: Int) {
        Meter(label: "cronium_runs_active", factory: factory).set(count)
    }

    func queueDepth(_ count: Int) {
        Meter(label: "cronium_queue_depth", factory: factory).set(count)
    }

    func retentionRemoved(_ kind: AgedRows, count: Int) {
        Counter(label: "cronium_retention_removed_total", dimensions: [("kind", kind.rawValue)], factory: factory).increment(by: count)
    }

    /// The store's size, read when `/metrics` is scraped.
    func storage(_ figures: StorageFigures) {
        Meter(label: "cronium_database_bytes", factory: factory).set(figures.databaseBytes)
        Meter(label: "cronium_database_free_bytes", factory: factory).set(figures.freeBytes)
        Meter(label: "cronium_runs_stored", factory: factory).set(figures.runs)
        Meter(label: "cronium_log_bytes_stored", factory: factory).set(figures.logBytes)
    }

    /// How late the scheduler handed an on-time occurrence over.
    func lateness(_ seconds: TimeInterval) {
        Timer(label: "cronium_scheduler_lateness_seconds", factory: factory).recordNanoseconds(Int64(max(seconds, 0) * 1e9))
    }
}

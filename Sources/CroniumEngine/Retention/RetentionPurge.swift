import CroniumCore
import CroniumStore
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// How long runs and logs are kept unless an event says otherwise, and how the purge goes
/// (`serve --keep-runs-days`, `--keep-last-runs`, `--keep-logs-days`, `--purge-interval`).
public struct RetentionPolicy: Sendable {
    /// What an event without limits of its own keeps; by default everything (an engine of its
    /// own keeps all; a server node starts from ``Retention/serverDefaults``).
    public var defaults: Retention
    /// From the end of one purge to the start of the next; the first starts one interval after
    /// the node (or at once, with `startAtOnce`).
    public var interval: Duration = .seconds(600)
    public var startAtOnce = false
    /// Rows removed in one transaction. Each removal is followed by a pause of `pace` times its
    /// length, so the purge holds the database's one writer a tenth of the time at most (runs
    /// going on keep more than 90 % of their rate: A4p in `cronium-bench`).
    public var batch = 200
    public var pace = 9.0
    /// Rows read at a time while looking for what to remove.
    public var scan = 2_000

    public init(defaults: Retention = Retention(runsDays: 0, lastRuns: 0, logsDays: 0)) { self.defaults = defaults }
}

/// Removes what has outlived its retention limits (``Retention``): runs, logs, workflow runs and
/// ledger rows, every `interval`, in small transactions paced so that runs going on meanwhile
/// barely notice; then gives the freed pages back to the file system.
final class RetentionPurge: Service, Sendable {
    /// What one purge removed.
    struct Report: Sendable, Equatable {
        var removed: [AgedRows: Int] = [:]
        var freedBytes: Int64 = 0
        var total: Int { removed.values.reduce(0, +) }
    }

    let store: any Store
    let clock: any EngineClock
    let policy: RetentionPolicy
    let metrics: EngineMetrics
    let logger: Logger
    private let last = Mutex<(at: Date, report: Report)?>(nil)
    private let total = Mutex(Report())
    /// One purge at a time: the service's turn and one asked for (`purgeNow`) queue up.
    private let turn = AsyncMutex()
    /// The store's figures and when they were read: summing a million runs' log sizes takes a
    /// fifth of a second, too much for every scrape of `/metrics`.
    private let figures = Mutex<(at: ContinuousClock.Instant, figures: StorageFigures)?>(nil)
    static let figuresLifetime: Duration = .seconds(60)

    init(store: any Store, clock: any EngineClock, policy: RetentionPolicy, metrics: EngineMetrics, logger: Logger) {
        self.store = store
        self.clock = clock
        self.policy = policy
        self.metrics = metrics
        self.logger = logger
    }

    /// When the last purge ended, and what it removed.
    var lastPurge: (at: Date, report: Report)? { last.withLock { $0 } }
    /// What every purge since the start removed.
    var sinceStart: Report { total.withLock { $0 } }

    /// The store's size, read again when the last reading is older than a minute or a purge
    /// has ended since.
    func storageFigures() async throws -> StorageFigures {
        if let cached = figures.withLock({ $0 }), ContinuousClock.now - cached.at < Self.figuresLifetime { return cached.figures }
        let fresh = try await store.storageFigures()
        figures.withLock { $0 = (.now, fresh) }
        return fresh
    }

    func run() async throws {
        await cancelWhenGracefulShutdown {
            if !self.policy.startAtOnce { try? await Task.sleep(for: self.policy.interval) }
            while !Task.isCancelled {
                do {
                    _ = try await self.purge()
                } catch is CancellationError {
                    return
                } catch {
                    self.logger.error("the retention purge failed; it tries again at its next turn", metadata: ["error": "\(error)"])
                }
                try? await Task.sleep(for: self.policy.interval)
            }
        }
    }

    /// One purge, after any that is going on; remembered as the last.
    func purge() async throws -> Report {
        try await turn.withLock {
            let report = try await self.purgeEverything()
            self.last.withLock { $0 = (self.clock.now(), report) }
            self.figures.withLock { $0 = nil }
            self.total.withLock { total in
                total.removed.merge(report.removed, uniquingKeysWith: +)
                total.freedBytes += report.freedBytes
            }
            return report
        }
    }

    /// Every kind of row, then the file's free pages.
    private func purgeEverything() async throws -> Report {
        let now = clock.now()
        let overrides = try await store.retentionOverrides()
        let defaults = policy.defaults
        func limits(of event: Int64) -> Retention { overrides[EventID(event)]?.filled(from: defaults) ?? defaults }
        let everyLimit = [defaults] + overrides.values.map { $0.filled(from: defaults) }
        var report = Report()
        let progress = Progress(logger: logger)

        report.removed[.runs] = try await sweep(.runs, now: now, shortest: everyLimit.map(\.runsDays), progress: progress) {
            limits(of: $0).runsDays
        }
        report.removed[.runs, default: 0] += try await removeBeyondNewest(limits: limits, overrides: overrides, progress: progress)
        report.removed[.workflowRuns] = try await sweep(.workflowRuns, now: now, shortest: [defaults.runsDays], progress: progress) { _ in
            defaults.runsDays
        }
        report.removed[.eventLedger] = try await sweep(.eventLedger, now: now, shortest: everyLimit.map(\.runsDays), progress: progress) {
            limits(of: $0).runsDays
        }
        report.removed[.workflowLedger] = try await sweep(.workflowLedger, now: now, shortest: [defaults.runsDays], progress: progress) { _ in
            defaults.runsDays
        }
        report.removed[.logs] = try await sweep(.logs, now: now, shortest: everyLimit.map(\.logsDays), progress: progress) {
            limits(of: $0).logsDays
        }
        report.removed = report.removed.filter { $0.value > 0 }
        for (kind, count) in report.removed { metrics.retentionRemoved(kind, count: count) }
        if report.total > 0 {
            report.freedBytes = try await shrink()
            let counts = report.removed.sorted { $0.key.rawValue < $1.key.rawValue }.map { "\($0.value) \($0.key.rawValue)" }
            logger.info(
                "retention purge removed \(counts.joined(separator: ", ")); gave back \(report.freedBytes / 1_048_576) MiB",
                metadata: ["purge.seconds": "\(String(format: "%.1f", clock.now().timeIntervalSince(now)))"]
            )
        }
        return report
    }

    /// Visits `kind`'s rows oldest first, removing those that ended more than their owner's
    /// `days` ago (0: kept), until the rows are younger than the shortest limit.
    private func sweep(
        _ kind: AgedRows,
        now: Date,
        shortest limits: [Int?],
        progress: Progress,
        days: (Int64) -> Int?
    ) async throws -> Int {
        guard let shortest = limits.compactMap({ $0 }).filter({ $0 > 0 }).min() else { return 0 }
        let youngest = now - Double(shortest) * 86_400
        var after: Int64 = 0
        var removed = 0
        while true {
            try Task.checkCancellation()
            let rows = try await store.agedRows(kind, after: after, limit: policy.scan)
            guard let last = rows.last else { break }
            after = last.id
            let expired = rows.filter { row in
                guard let ended = row.ended, let limit = days(row.owner), limit > 0 else { return false }
                return ended < now - Double(limit) * 86_400
            }
            for batch in expired.map(\.id).slices(of: policy.batch) {
                removed += try await paced { try await store.purge(kind, ids: Array(batch), note: Self.note(at: now), at: now) }
                progress.count(kind, removed)
            }
            if rows.count < policy.scan || last.created >= youngest { break }
        }
        return removed
    }

    /// Each event's runs beyond its newest `lastRuns`.
    private func removeBeyondNewest(limits: (Int64) -> Retention, overrides: [EventID: Retention], progress: Progress) async throws -> Int {
        let events: [Int64] =
            (policy.defaults.lastRuns ?? 0) > 0 ? try await store.events().map { Int64($0.id.rawValue) } : overrides.keys.map { Int64($0.rawValue) }
        var removed = 0
        let now = clock.now()
        for event in events {
            guard let keeping = limits(event).lastRuns, keeping > 0 else { continue }
            while true {
                try Task.checkCancellation()
                let ids = try await store.runsBeyond(newest: keeping, eventId: EventID(event), limit: policy.batch)
                guard !ids.isEmpty else { break }
                let gone = try await paced { try await store.purge(.runs, ids: ids, note: Self.note(at: now), at: now) }
                removed += gone
                progress.count(.runs, removed)
                if gone == 0 { break }
            }
        }
        return removed
    }

    /// Gives the freed pages back in steps of 8 MiB at most, paced like the removals, until none
    /// is left (or a step gives nothing back).
    private func shrink() async throws -> Int64 {
        var freed: Int64 = 0
        while true {
            let step = try await paced { try await store.shrink(pages: 2_048) }
            freed += step.freed
            if step.freePagesLeft == 0 || step.freed == 0 { return freed }
        }
    }

    /// Runs `write`, then waits `pace` times as long as it took.
    private func paced<T: Sendable>(_ write: () async throws -> T) async throws -> T {
        let started = ContinuousClock.now
        let value = try await write()
        try await Task.sleep(for: (ContinuousClock.now - started) * policy.pace)
        return value
    }

    /// The system line that takes a removed log's place.
    static func note(at now: Date) -> String {
        "[cronium] this run's log was removed by the retention policy on \(now.formatted(.iso8601))"
    }

    /// A line every ten seconds while a long purge goes on.
    final class Progress: Sendable {
        let logger: Logger
        private let lastLine = Mutex(ContinuousClock.now)
        init(logger: Logger) { self.logger = logger }

        func count(_ kind: AgedRows, _ removed: Int) {
            let due = lastLine.withLock { last in
                guard ContinuousClock.now - last >= .seconds(10) else { return false }
                last = .now
                return true
            }
            if due { logger.info("retention purge under way: \(removed) \(kind.rawValue) removed so far") }
        }
    }
}

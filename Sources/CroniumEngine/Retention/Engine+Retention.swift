import CroniumCore
import CroniumStore
import Foundation

/// What `GET /api/v1/system/storage` and `cronium status` show: how big the store is, what this
/// server keeps, and what its last purge removed.
public struct StorageReport: Codable, Sendable {
    public var storage: StorageFigures
    /// The server's defaults; events may have their own.
    public var retention: Retention
    public var lastPurge: LastPurge?
    /// What the purges since the server started removed, by kind.
    public var removedSinceStart: [String: Int]

    public struct LastPurge: Codable, Sendable {
        public var endedAt: Date
        /// Rows removed by kind (`runs`, `logs`, `workflow_runs`, `event_ledger`, `workflow_ledger`).
        public var removed: [String: Int]
        public var freedBytes: Int64

        init(endedAt: Date, report: RetentionPurge.Report) {
            self.endedAt = endedAt
            removed = Dictionary(uniqueKeysWithValues: report.removed.map { ($0.key.rawValue, $0.value) })
            freedBytes = report.freedBytes
        }
    }
}

extension Engine {
    /// Purges now what has outlived its limits (after a purge going on, if any) and returns what
    /// it removed: after lowering the limits, or before a backup.
    public func purgeNow() async throws -> StorageReport.LastPurge {
        let report = try await purge.purge()
        return StorageReport.LastPurge(endedAt: clock.now(), report: report)
    }

    public func storageReport() async throws -> StorageReport {
        let last = purge.lastPurge.map { StorageReport.LastPurge(endedAt: $0.at, report: $0.report) }
        return StorageReport(
            storage: try await purge.storageFigures(),
            retention: configuration.retention.defaults,
            lastPurge: last,
            removedSinceStart: Dictionary(uniqueKeysWithValues: purge.sinceStart.removed.map { ($0.key.rawValue, $0.value) })
        )
    }

    /// The store's size on `/metrics`, read at a scrape at most once a minute.
    public func updateStorageMetrics() async throws {
        configuration.metrics.storage(try await purge.storageFigures())
    }
}

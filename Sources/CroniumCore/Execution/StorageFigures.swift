/// How big the store is, for `/metrics`, `GET /api/v1/system/storage` and `cronium status`.
public struct StorageFigures: Codable, Sendable, Equatable {
    /// The database's size (its pages, free ones included), not counting its write-ahead log.
    public var databaseBytes: Int64
    /// Of which free: what the next purge's shrink gives back, or new rows reuse.
    public var freeBytes: Int64
    /// Runs recorded, with `REMOTE` runs' parts and workflows' node runs.
    public var runs: Int64
    /// Bytes of the logs still kept (as the scripts wrote them).
    public var logBytes: Int64

    public init(databaseBytes: Int64, freeBytes: Int64, runs: Int64, logBytes: Int64) {
        self.databaseBytes = databaseBytes
        self.freeBytes = freeBytes
        self.runs = runs
        self.logBytes = logBytes
    }
}

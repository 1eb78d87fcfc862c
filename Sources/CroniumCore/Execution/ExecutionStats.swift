import Foundation

/// Runs over a window of time, for a dashboard: how many are going now, and per slice of the
/// window how many ended each way and how long they took.
public struct ExecutionStats: Codable, Sendable, Equatable {
    /// One slice of the window: the runs that ended in `[start, start + slice)`.
    public struct Bucket: Codable, Sendable, Equatable {
        public var start: Date
        /// Ended runs by status (`SUCCESS`, `FAILURE`, …); statuses with none are left out.
        public var ended: [String: Int]
        /// Of the runs that started and ended in the slice: mean and longest, in milliseconds.
        public var meanDurationMs: Int?
        public var maxDurationMs: Int?

        public init(start: Date, ended: [String: Int] = [:], meanDurationMs: Int? = nil, maxDurationMs: Int? = nil) {
            self.start = start
            self.ended = ended
            self.meanDurationMs = meanDurationMs
            self.maxDurationMs = maxDurationMs
        }
    }

    /// Runs going now.
    public var running: Int
    /// Runs waiting for their start (queued, delayed for a retry, held by an overlap policy).
    public var pending: Int
    public var since: Date
    public var sliceSeconds: Int
    /// Oldest first, one per slice, empty slices included.
    public var buckets: [Bucket]

    public init(running: Int, pending: Int, since: Date, sliceSeconds: Int, buckets: [Bucket]) {
        self.running = running
        self.pending = pending
        self.since = since
        self.sliceSeconds = sliceSeconds
        self.buckets = buckets
    }
}

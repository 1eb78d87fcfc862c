import CroniumStore
import Foundation

extension Database {
    /// The dispatcher's claim without ends to record, for tests that drive the queue by hand.
    public func claimAndStart(owner: String, limit: Int, now: Date, leaseUntil: Date) async throws -> [StartedRun] {
        try await finishAndClaim([], owner: owner, limit: limit, now: now, leaseUntil: leaseUntil).started
    }
}

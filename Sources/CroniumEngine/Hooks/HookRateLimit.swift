import CroniumCore
import Foundation
import Synchronization

/// Each incoming webhook takes at most ``perSecond`` deliveries a second, ``burst`` at once; past
/// that a sender is told when to come back (`429` with `Retry-After`) and nothing starts. Counted
/// before the signature is checked, so a flood of forged deliveries costs no more than its turns.
public final class HookRateLimit: Sendable {
    let perSecond: Double
    let burst: Double
    private let buckets = Mutex<[Int64: TokenBucket]>([:])

    public init(perSecond: Double = 5, burst: Double = 20) {
        self.perSecond = perSecond
        self.burst = burst
    }

    func take(hookId: Int64, now: Date) throws {
        let wait = buckets.withLock { buckets in
            var bucket = buckets[hookId] ?? TokenBucket(capacity: burst, perSecond: perSecond, now: now)
            defer { buckets[hookId] = bucket }
            return bucket.take(now: now)
        }
        guard let wait else { return }
        throw CroniumError(
            .tooManyRequests,
            "this webhook takes at most \(perSecond.formatted()) deliveries a second (\(Int(burst)) at once); try again in \(Int(wait.rounded(.up))) s",
            retryAfter: .milliseconds(Int(wait * 1000) + 1)
        )
    }
}

import CroniumCore
import Foundation
import Synchronization

/// Each tool sends at most ``perSecond`` messages a second, ``burst`` at once, whichever way they
/// are sent (actions through the delivery worker, or scripts through the helpers): a runaway loop
/// must not get an account at Slack or at a mail provider blocked. One per server, shared by the
/// engine and the runtime API.
public final class ToolRateLimit: Sendable {
    let perSecond: Double
    let burst: Double
    /// How long a script's message waits for its tool's turn before it is told to come back
    /// (`429` with `Retry-After`, which the helpers honour).
    let scriptWait: Duration
    private let buckets = Mutex<[String: TokenBucket]>([:])

    public init(perSecond: Double = 1, burst: Double = 10, scriptWait: Duration = .seconds(5)) {
        self.perSecond = perSecond
        self.burst = burst
        self.scriptWait = scriptWait
    }

    /// Takes `tool`'s next turn, waiting for it; when that would be longer than `longest`, throws
    /// ``CroniumError/Code/tooManyRequests`` with the wait instead (the caller may come back then).
    func take(_ tool: Tool, ownedBy owner: UserID, clock: any EngineClock, waitingAtMost longest: Duration? = nil) async throws {
        let key = "\(owner)/\(tool.id)"
        while let wait = buckets.withLock({ buckets in
            var bucket = buckets[key] ?? TokenBucket(capacity: burst, perSecond: perSecond, now: clock.now())
            defer { buckets[key] = bucket }
            return bucket.take(now: clock.now())
        }) {
            let pause = Duration.milliseconds(Int(wait * 1000) + 1)
            if let longest, pause > longest {
                // The turn was not taken: give back nothing, and say when to come back.
                throw CroniumError(
                    .tooManyRequests,
                    "tool \(tool.name) sends at most \(perSecond.formatted()) message\(perSecond == 1 ? "" : "s") a second (\(Int(burst)) at once); try again in \(Int(wait.rounded(.up))) s",
                    retryAfter: pause
                )
            }
            try await clock.sleep(until: clock.now().addingTimeInterval(pause / .seconds(1)))
        }
    }
}

import CroniumCore
import Foundation
import Testing

@testable import CroniumEngine

/// Each tool's pace, on a clock the test moves: a burst goes at once, the next waits its turn,
/// a caller that will not wait long is told when to come back, and tools do not share turns.
@Suite struct ToolRateLimitTests {
    static func tool(_ id: Int64) -> Tool {
        Tool(id: ToolID(rawValue: id), name: "t\(id)", type: .slack, shared: false, createdAt: Date(), updatedAt: Date())
    }

    @Test func aBurstGoesAtOnceAndThenEachWaitsItsTurn() async throws {
        let limits = ToolRateLimit(perSecond: 1, burst: 2)
        let start = Date()
        for _ in 0..<2 { try await limits.take(Self.tool(1), ownedBy: 1, now: { start }, waitingAtMost: .zero) }
        // The third would wait a whole second: refused, naming the pace and when to come back.
        let refused = await #expect(throws: CroniumError.self) {
            try await limits.take(Self.tool(1), ownedBy: 1, now: { start }, waitingAtMost: .milliseconds(100))
        }
        #expect(refused?.code == .tooManyRequests && refused?.message == "tool t1 sends at most 1 message a second (2 at once); try again in 1 s")
        // Another tool, or the same tool's id of another owner, has turns of its own.
        try await limits.take(Self.tool(2), ownedBy: 1, now: { start }, waitingAtMost: .zero)
        try await limits.take(Self.tool(1), ownedBy: 2, now: { start }, waitingAtMost: .zero)
        // A second later, one more turn.
        try await limits.take(Self.tool(1), ownedBy: 1, now: { start + 1 }, waitingAtMost: .zero)
        await #expect(throws: CroniumError.self) { try await limits.take(Self.tool(1), ownedBy: 1, now: { start + 1 }, waitingAtMost: .zero) }
    }

    @Test func aCallerWithoutALimitWaitsForItsTurn() async throws {
        let limits = ToolRateLimit(perSecond: 20, burst: 1)
        let started = ContinuousClock.now
        for _ in 0..<3 { try await limits.take(Self.tool(1), ownedBy: 1, now: Date.init) }
        // One at once, then two turns 50 ms apart.
        #expect(ContinuousClock.now - started >= .milliseconds(90))
    }
}

import CroniumCore
import CroniumTesting
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
        let clock = ManualClock(now: Date())
        for _ in 0..<2 { try await limits.take(Self.tool(1), ownedBy: 1, clock: clock, waitingAtMost: .zero) }
        // The third would wait a whole second: refused, naming the pace and when to come back.
        let refused = await #expect(throws: CroniumError.self) {
            try await limits.take(Self.tool(1), ownedBy: 1, clock: clock, waitingAtMost: .milliseconds(100))
        }
        #expect(refused?.code == .tooManyRequests && refused?.message == "tool t1 sends at most 1 message a second (2 at once); try again in 1 s")
        // Another tool, or the same tool's id of another owner, has turns of its own.
        try await limits.take(Self.tool(2), ownedBy: 1, clock: clock, waitingAtMost: .zero)
        try await limits.take(Self.tool(1), ownedBy: 2, clock: clock, waitingAtMost: .zero)
        // A second later, one more turn.
        clock.advance(by: 1)
        try await limits.take(Self.tool(1), ownedBy: 1, clock: clock, waitingAtMost: .zero)
        await #expect(throws: CroniumError.self) { try await limits.take(Self.tool(1), ownedBy: 1, clock: clock, waitingAtMost: .zero) }
    }

    @Test func aCallerWithoutALimitWaitsForItsTurn() async throws {
        let limits = ToolRateLimit(perSecond: 20, burst: 1)
        let clock = ManualClock(now: Date())
        try await limits.take(Self.tool(1), ownedBy: 1, clock: clock)
        // The next turn is 50 ms later: the caller sleeps until the clock gets there.
        let next = Task { try await limits.take(Self.tool(1), ownedBy: 1, clock: clock) }
        #expect(try await eventually { clock.sleeperCount == 1 })
        clock.advance(by: 0.06)
        try await next.value
        #expect(clock.sleeperCount == 0)
    }
}

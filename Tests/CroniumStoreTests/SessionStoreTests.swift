import CroniumCore
import Foundation
import Testing

@testable import CroniumStore

@Suite struct SessionStoreTests {
    /// Idle and absolute lifetimes, on the caller's clock: a session used within the idle limit
    /// lives on (each use pushes it back), one left alone ends, and none outlives its end.
    @Test func aSessionEndsWhenIdleOrOld() async throws {
        try await withStore { store, user in
            let start = Date(timeIntervalSince1970: 1_800_000_000)
            let idle: TimeInterval = 3600
            try await store.insertSession(tokenHash: "h", userId: user.id, now: start, expiresAt: start + 4 * idle)
            #expect(try await store.user(sessionHash: "h", now: start + 0.9 * idle, idleLimit: idle)?.id == user.id)
            // Used at 0.9 h, so alive at 1.8 h; then unused until 2.9 h: ended.
            #expect(try await store.user(sessionHash: "h", now: start + 1.8 * idle, idleLimit: idle) != nil)
            #expect(try await store.user(sessionHash: "h", now: start + 2.9 * idle, idleLimit: idle) == nil)
            try await store.insertSession(tokenHash: "k", userId: user.id, now: start, expiresAt: start + 2 * idle)
            for step in 1...3 { _ = try await store.user(sessionHash: "k", now: start + Double(step) * 0.6 * idle, idleLimit: idle) }
            #expect(try await store.user(sessionHash: "k", now: start + 2.01 * idle, idleLimit: idle) == nil)
        }
    }
}

import Foundation
import Synchronization

/// Wall-clock time for the scheduler. Schedules are about calendar time, so this is `Date`-based;
/// tests substitute ``ManualClock`` to step through days in microseconds.
public protocol EngineClock: Sendable {
    func now() -> Date
    /// Returns at `deadline` or later; throws when cancelled.
    func sleep(until deadline: Date) async throws
}

public struct SystemClock: EngineClock {
    public init() {}
    public func now() -> Date { Date() }
    public func sleep(until deadline: Date) async throws {
        let interval = deadline.timeIntervalSinceNow
        if interval > 0 { try await Task.sleep(for: .microseconds(Int64(interval * 1_000_000))) }
    }
}

/// A clock that moves only when a test says so. Sleepers wake when ``advance(to:)`` passes their deadline.
public final class ManualClock: EngineClock {
    private struct Sleeper {
        let deadline: Date
        let continuation: CheckedContinuation<Void, any Error>
    }
    private struct State {
        var now: Date
        var sleepers: [UUID: Sleeper] = [:]
    }
    private let state: Mutex<State>

    public init(now: Date) { state = Mutex(State(now: now)) }

    public func now() -> Date { state.withLock { $0.now } }

    /// How many tasks are currently waiting on this clock.
    public var sleeperCount: Int { state.withLock { $0.sleepers.count } }

    public func advance(to date: Date) {
        let woken = state.withLock { state -> [Sleeper] in
            state.now = max(state.now, date)
            let due = state.sleepers.filter { $0.value.deadline <= state.now }
            for key in due.keys { state.sleepers[key] = nil }
            return Array(due.values)
        }
        for sleeper in woken { sleeper.continuation.resume() }
    }

    public func advance(by seconds: TimeInterval) { advance(to: now() + seconds) }

    public func sleep(until deadline: Date) async throws {
        let id = UUID()
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let resumeNow = state.withLock { state -> Bool in
                    if deadline <= state.now || Task.isCancelled { return true }
                    state.sleepers[id] = Sleeper(deadline: deadline, continuation: continuation)
                    return false
                }
                if resumeNow { continuation.resume() }
            }
            try Task.checkCancellation()
        } onCancel: {
            let sleeper = state.withLock { $0.sleepers.removeValue(forKey: id) }
            sleeper?.continuation.resume(throwing: CancellationError())
        }
    }
}

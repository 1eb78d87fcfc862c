import CroniumCore
import CroniumStore
import Foundation
import Synchronization

/// One follower's live feed of a run: a bounded buffer. When it is full the subscription is let
/// go as ``overflowed`` instead of dropping lines silently; ``LogFollower`` then reads what it
/// missed from the store and subscribes again.
final class LogSubscription: Sendable {
    let events: AsyncStream<LiveLogEvent>
    private let continuation: AsyncStream<LiveLogEvent>.Continuation
    private let state = Mutex<(overflowed: Bool, onCancel: (@Sendable () -> Void)?)>((false, nil))

    init(buffer: Int) {
        (events, continuation) = AsyncStream.makeStream(bufferingPolicy: .bufferingOldest(buffer))
        // Only the follower's side: the hub lets go of the subscriptions it ends itself.
        continuation.onTermination = { [weak self] termination in
            if case .cancelled = termination { self?.onCancel?() }
        }
    }

    /// Whether the hub let this subscription go because its buffer was full.
    var overflowed: Bool { state.withLock { $0.overflowed } }

    /// What to do when the follower stops reading (its hub forgets it).
    var onCancel: (@Sendable () -> Void)? {
        get { state.withLock { $0.onCancel } }
        set { state.withLock { $0.onCancel = newValue } }
    }

    /// Hands `event` over; false when the subscription has ended (its buffer was full, so it ends
    /// now as overflowed, or the follower stopped reading): the hub then forgets it.
    func hand(_ event: LiveLogEvent) -> Bool {
        switch continuation.yield(event) {
        case .enqueued: return true
        case .dropped:
            state.withLock { $0.overflowed = true }
            continuation.finish()
            return false
        case .terminated: return false
        @unknown default: return false
        }
    }

    func end() { continuation.finish() }
}

/// A run's whole log, for a follower: what the store has, then the lines not yet in it, then the
/// live ones as the run prints them, then its end; each line once, in order, by `seq`. It does
/// not poll: a run not started yet is waited for until the hub opens it (or runs end), and a
/// follower that reads too slowly for its buffer reads what it missed from the store and goes on.
public struct LogFollower: AsyncSequence, Sendable {
    public typealias Element = LiveLogEvent

    let executionId: ExecutionID
    let store: any RunStore
    let hub: LogHub
    /// The lines up to this `seq` are not sent: the follower has them (a page that read the
    /// stored log first, then follows the rest).
    var afterSeq = 0
    /// Lines read from the store at once.
    static let page = 1000
    /// How long a follower of a run that is not live here waits before looking at it again,
    /// when no end was announced (see ``LogHub/runsChanged()``).
    static let safetyNet = Duration.seconds(30)

    public func makeAsyncIterator() -> Iterator { Iterator(follower: self, lastSeq: afterSeq) }

    public struct Iterator: AsyncIteratorProtocol {
        let follower: LogFollower
        var lastSeq = 0
        var phase = Phase.subscribe
        var subscription: LogSubscription?
        var backlog: [LogLine] = []

        enum Phase {
            case subscribe
            case stored
            case backlog
            case live(AsyncStream<LiveLogEvent>.Iterator)
            case notLive
            /// The run has ended with this status; the stored lines are read to their end first.
            case ending(ExecutionStatus)
            case done
        }

        public mutating func next() async throws -> LiveLogEvent? {
            while true {
                switch phase {
                case .subscribe:
                    // Subscribe before reading the store, so nothing written in between is missed;
                    // `seq` removes what comes twice.
                    subscription?.end()
                    let subscribed = follower.hub.subscribe(executionId: follower.executionId)
                    (subscription, backlog) = (subscribed?.subscription, subscribed?.backlog ?? [])
                    phase = .stored
                case .stored, .ending:
                    let page = try await follower.store.logLines(executionId: follower.executionId, afterSeq: lastSeq, limit: LogFollower.page)
                    if let last = page.last {
                        lastSeq = last.seq
                        return .lines(page)
                    }
                    if case .ending(let status) = phase {
                        phase = .done
                        return .finished(status)
                    }
                    phase = subscription == nil ? .notLive : .backlog
                case .backlog:
                    let lines = backlog.filter { $0.seq > lastSeq }
                    backlog = []
                    phase = .live(subscription!.events.makeAsyncIterator())
                    if let last = lines.last {
                        lastSeq = last.seq
                        return .lines(lines)
                    }
                case .live(var events):
                    let event = await events.next()
                    phase = .live(events)
                    switch event {
                    case .lines(let lines):
                        let new = lines.filter { $0.seq > lastSeq }
                        if let last = new.last {
                            lastSeq = last.seq
                            return .lines(new)
                        }
                    case .finished(let status):
                        // The lines of its end are in the store by now (the hub wrote them before).
                        phase = .ending(status)
                    case nil:
                        try Task.checkCancellation()
                        // Let go for reading too slowly, or ended without a word: look again.
                        phase = subscription?.overflowed == true ? .subscribe : .notLive
                    }
                case .notLive:
                    subscription = nil
                    let change = follower.hub.nextChange()
                    guard let execution = try await follower.store.execution(id: follower.executionId) else {
                        throw CroniumError.notFound("execution \(follower.executionId)")
                    }
                    if execution.status.isFinal {
                        phase = .ending(execution.status)
                    } else if follower.hub.isLive(follower.executionId) {
                        phase = .subscribe
                    } else {
                        // Queued, or running where this hub does not see it.
                        await follower.hub.wait(for: change, atMost: LogFollower.safetyNet)
                        try Task.checkCancellation()
                        phase = .subscribe
                    }
                case .done:
                    subscription?.end()
                    return nil
                }
            }
        }
    }
}

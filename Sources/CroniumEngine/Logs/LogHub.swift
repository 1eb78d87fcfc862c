import CroniumCore
import CroniumStore
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// What a live log subscriber receives.
public enum LiveLogEvent: Sendable, Equatable {
    /// Lines in order, as many as the run wrote in one go: one hand-over per chunk, not per line.
    case lines([LogLine])
    /// The run ended; nothing follows.
    case finished(ExecutionStatus)
}

/// Fans out each run's output to live subscribers at once and to the store in batches.
///
/// Memory stays bounded per run: lines wait at most one flush interval before they are written,
/// and past the event's cap only a tail of half the cap is held (the middle is counted, not kept).
/// Subscribers get a bounded buffer too: a subscriber too slow to keep up is let go when its buffer
/// is full (``LogSubscription/overflowed``), rather than growing the server's memory, and its
/// follower (``LogFollower``) reads what it missed from the store and subscribes again.
public final class LogHub: Service, Sendable {
    let store: any RunStore
    let logger: Logger
    let flushInterval: Duration
    private let sessions = Mutex<[ExecutionID: LogSession]>([:])
    /// One writer at a time, so a run's batches reach the store in order and `finish` sees all of them.
    private let writeLock = AsyncMutex()
    /// Rung by the first line after a flush: the flusher sleeps while nothing waits to be written.
    private let linesWaiting = Doorbell()
    /// Subscriptions let go because their buffer was full (their followers then read the store).
    private let overflowCount = Atomic(0)
    public var overflows: Int { overflowCount.load(ordering: .relaxed) }
    /// Followers of runs that are not live here, waiting for one to open or to end.
    private let waiters = Mutex<[UUID: Doorbell]>([:])

    /// Chunks a follower may fall behind by before its subscription is let go and it reads the
    /// store instead (a chunk is at most one pipe read, 64 KiB, so a few MiB per follower at worst).
    let subscriberBuffer: Int

    public init(store: any RunStore, logger: Logger, flushInterval: Duration = .milliseconds(50), subscriberBuffer: Int = 64) {
        self.store = store
        self.logger = logger
        self.flushInterval = flushInterval
        self.subscriberBuffer = subscriberBuffer
    }

    public func open(executionId: ExecutionID, capBytes: Int, now: Date) {
        sessions.withLock { $0[executionId] = LogSession(capBytes: capBytes) }
        runsChanged()
    }

    /// Wakes the followers of runs that are not live here: a run opened, or runs ended (a queued
    /// run cancelled, runs recovered) and each looks at its own again.
    public func runsChanged() {
        for waiter in waiters.withLock({ waiters in
            defer { waiters = [:] }; return Array(waiters.values)
        }) { waiter.ring() }
    }

    /// A wake-up at the next ``runsChanged()``, taken before a follower looks at its run, so that
    /// a change in between is not missed.
    func nextChange() -> (id: UUID, bell: Doorbell) {
        let (id, bell) = (UUID(), Doorbell())
        waiters.withLock { $0[id] = bell }
        return (id, bell)
    }

    /// Waits for the change `ticket` was taken for, or `atMost`: a safety net for ends recorded
    /// where this hub does not hear of them.
    func wait(for ticket: (id: UUID, bell: Doorbell), atMost: Duration) async {
        let clock = SystemClock()
        await ticket.bell.wait(until: clock.now().addingTimeInterval(atMost / .seconds(1)), clock: clock)
        waiters.withLock { _ = $0.removeValue(forKey: ticket.id) }
    }

    /// Whether the run is live here (its lines go through this hub).
    func isLive(_ executionId: ExecutionID) -> Bool { sessions.withLock { $0[executionId] != nil } }

    /// Records lines and hands them to live subscribers immediately.
    public func append(executionId: ExecutionID, stream: LogStream, lines: [String], now: Date = Date()) {
        let first = sessions.withLock { sessions -> Bool in
            // Changed where it lies: a copy taken out and put back would copy its buffers per line.
            guard let index = sessions.index(forKey: executionId) else { return false }
            let first = !sessions.values[index].hasPending
            let appended = lines.map { sessions.values[index].append(stream: stream, text: $0, time: now) }
            for (id, subscriber) in sessions.values[index].subscribers where !subscriber.hand(.lines(appended)) {
                sessions.values[index].subscribers[id] = nil
                if subscriber.overflowed { overflowCount.add(1, ordering: .relaxed) }
            }
            return first && sessions.values[index].hasPending
        }
        if first { linesWaiting.ring() }
    }

    /// Writes every run's waiting lines.
    public func flushAll() async {
        let ids = sessions.withLock { Array($0.keys) }
        for id in ids { await flush(executionId: id) }
    }

    /// Everything left of a run's log, including the kept tail, for its end's transaction, with
    /// its byte counts. The lines stay among the run's unwritten ones, for followers, until
    /// ``written(executionId:)``.
    public func takeFinal(executionId: ExecutionID) async -> (lines: [LogLine], bytes: Int, droppedBytes: Int) {
        let taken = try? await writeLock.withLock {
            self.sessions.withLock { sessions -> (lines: [LogLine], bytes: Int, droppedBytes: Int) in
                guard let index = sessions.index(forKey: executionId) else { return ([], 0, 0) }
                let lines = sessions.values[index].takeWritable(final: true)
                return (lines, sessions.values[index].totalBytes, sessions.values[index].droppedBytes)
            }
        }
        return taken ?? ([], 0, 0)
    }

    /// The store has the lines ``takeFinal(executionId:)`` gave out (or they were given up on).
    public func written(executionId: ExecutionID) {
        sessions.withLock { $0[executionId]?.written() }
    }

    /// Tells subscribers the run ended with `status` and forgets the run.
    public func close(executionId: ExecutionID, status: ExecutionStatus) {
        let session = sessions.withLock { $0.removeValue(forKey: executionId) }
        for subscriber in session?.subscribers.values ?? [:].values {
            // A full buffer is let go like any other: its follower finds the end in the store.
            _ = subscriber.hand(.finished(status))
            subscriber.end()
        }
        runsChanged()
    }

    /// Follows a run that is in progress: `backlog` holds the lines not yet in the store, the
    /// subscription everything after. Nil when the run is not live here (read the store instead).
    /// ``LogFollower`` puts the two together with the store.
    func subscribe(executionId: ExecutionID) -> (backlog: [LogLine], subscription: LogSubscription)? {
        let subscription = LogSubscription(buffer: subscriberBuffer)
        let id = UUID()
        let backlog = sessions.withLock { sessions -> [LogLine]? in
            guard let index = sessions.index(forKey: executionId) else { return nil }
            sessions.values[index].subscribers[id] = subscription
            return sessions.values[index].unwritten
        }
        guard let backlog else { return nil }
        subscription.onCancel = { [weak self] in
            self?.sessions.withLock { sessions in _ = sessions[executionId]?.subscribers.removeValue(forKey: id) }
        }
        return (backlog, subscription)
    }

    /// Writes waiting lines at most one flush interval after they arrived, and does not wake
    /// while there are none. Ends after the dispatcher (which writes each run's remainder with its
    /// end, from ``takeFinal(executionId:)``), with a last flush.
    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await self.linesWaiting.wait(until: nil, clock: SystemClock())
                try? await Task.sleep(for: self.flushInterval)
                await self.flushAll()
            }
        }
        await flushAll()
    }

    private func flush(executionId: ExecutionID) async {
        try? await writeLock.withLock {
            let batch = self.sessions.withLock { sessions -> [LogLine] in
                guard let index = sessions.index(forKey: executionId) else { return [] }
                return sessions.values[index].takeWritable(final: false)
            }
            guard !batch.isEmpty else { return }
            defer { self.sessions.withLock { $0[executionId]?.written() } }
            do {
                try await self.store.appendLogLines(executionId: executionId, batch)
            } catch {
                self.logger.error("could not store log lines", metadata: ["execution.id": "\(executionId)", "error": "\(String(reflecting: error))"])
            }
        }
    }
}

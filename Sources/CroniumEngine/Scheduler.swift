import CroniumCore
import CroniumStore
import Foundation
import Logging
import Synchronization

/// One due occurrence and how the scheduler judged it.
public struct DueOccurrence: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        case onTime
        /// Late beyond the misfire threshold, run anyway (misfire policy `last` or `all`).
        case catchUp
        /// Late beyond the misfire threshold and not run.
        case missed(reason: String)
    }
    public var scheduledFor: Date
    public var kind: Kind
}

/// Where fires go. The engine's sink applies the overlap policy and records everything in one
/// transaction; benchmarks substitute a sink that only measures.
public protocol ScheduleSink: Sendable {
    /// Handles an event's due occurrences and stores `state` (its next planned fire) with them.
    func fire(event: Event, occurrences: [DueOccurrence], state: ScheduleState, now: Date) async throws
}

/// Keeps every scheduled event's next fire time and wakes exactly when the earliest is due.
public final class Scheduler: Sendable {
    struct Entry: Sendable {
        var event: Event
        var nextFire: Date
    }

    let clock: any EngineClock
    let misfireThreshold: TimeInterval
    let maxCatchUp: Int
    let logger: Logger
    private let entries = Mutex<[Int64: Entry]>([:])
    /// Events changed since the last look, and whether their timetable restarts from now.
    private let changed = Mutex<[Int64: Bool]>([:])
    private let doorbell = Doorbell()
    private let storeBox = Mutex<Database?>(nil)
    private let applying = Mutex(false)

    public init(clock: any EngineClock, misfireThreshold: TimeInterval, maxCatchUp: Int, logger: Logger) {
        self.clock = clock
        self.misfireThreshold = misfireThreshold
        self.maxCatchUp = maxCatchUp
        self.logger = logger
    }

    /// Reads every scheduled event and where its timetable stood. A stored next fire in the past
    /// is kept: the first pass of ``run(sink:)`` then applies the misfire policy to the downtime.
    public func load(from store: Database) async throws {
        storeBox.withLock { $0 = store }
        let states = try await store.scheduleStates()
        let now = clock.now()
        var loaded: [Int64: Entry] = [:]
        for event in try await store.scheduledEvents() {
            if let next = states[event.id]?.nextFireAt ?? plannedFirstFire(event, now: now) {
                loaded[event.id] = Entry(event: event, nextFire: next)
            }
        }
        entries.withLock { $0 = loaded }
    }

    /// Adds entries directly, for benchmarks and tests that drive a scheduler without a store.
    public func plan(_ event: Event, nextFire: Date) {
        entries.withLock { $0[event.id] = Entry(event: event, nextFire: nextFire) }
        doorbell.ring()
    }

    public var plannedCount: Int { entries.withLock { $0.count } }

    public func nextFire(eventId: Int64) -> Date? { entries.withLock { $0[eventId]?.nextFire } }

    /// True when every reported change has been applied to the timetable.
    public var isSettled: Bool { changed.withLock { $0.isEmpty } && !applying.withLock { $0 } }

    func markChanged(eventId: Int64, resetTimetable: Bool) async {
        changed.withLock { $0[eventId] = ($0[eventId] ?? false) || resetTimetable }
        doorbell.ring()
    }

    public func run(sink: any ScheduleSink) async {
        while !Task.isCancelled {
            await applyChanges()
            let now = clock.now()
            let (due, earliest) = entries.withLock { entries -> ([Entry], Date?) in
                var due: [Entry] = []
                var earliest: Date?
                for entry in entries.values {
                    if entry.nextFire <= now { due.append(entry) } else if earliest.map({ entry.nextFire < $0 }) ?? true { earliest = entry.nextFire }
                }
                return (due, earliest)
            }
            for entry in due.sorted(by: { $0.nextFire < $1.nextFire }) {
                await fire(entry, now: now, sink: sink)
            }
            if due.isEmpty { await doorbell.wait(until: earliest, clock: clock) }
        }
    }

    private func fire(_ entry: Entry, now: Date, sink: any ScheduleSink) async {
        let schedule = entry.event.schedule!
        do {
            var times = [entry.nextFire]
            times += try schedule.occurrences(after: entry.nextFire, through: now, limit: 10_000)
            let last = times.last!
            let occurrences = judge(times, now: now, policy: schedule.misfire)
            let next = try schedule.nextFire(after: last)
            try await sink.fire(event: entry.event, occurrences: occurrences, state: ScheduleState(eventId: entry.event.id, nextFireAt: next, lastFireAt: last), now: now)
            entries.withLock { entries in
                if let next { entries[entry.event.id]?.nextFire = next } else { entries[entry.event.id] = nil }
            }
        } catch {
            // The entry stays due; wait a little before trying again so a broken store is not hammered.
            logger.error("firing a schedule failed", metadata: ["event.id": "\(entry.event.id)", "error": "\(String(reflecting: error))"])
            try? await clock.sleep(until: clock.now() + 1)
        }
    }

    /// Decides which late occurrences run. On time means within the misfire threshold of now.
    func judge(_ times: [Date], now: Date, policy: MisfirePolicy) -> [DueOccurrence] {
        let late = times.filter { now.timeIntervalSince($0) > misfireThreshold }
        let onTime = times.filter { now.timeIntervalSince($0) <= misfireThreshold }
        let downtime = "Cronium was not running (or was late by more than \(Int(misfireThreshold))s)"
        var result: [DueOccurrence]
        switch policy {
        case .none:
            result = late.map { DueOccurrence(scheduledFor: $0, kind: .missed(reason: "\(downtime); misfire policy none")) }
        case .last:
            // When an on-time occurrence exists it stands for the latest; otherwise the last late one is run.
            result = late.enumerated().map { index, time in
                index == late.count - 1 && onTime.isEmpty
                    ? DueOccurrence(scheduledFor: time, kind: .catchUp)
                    : DueOccurrence(scheduledFor: time, kind: .missed(reason: "\(downtime); misfire policy last runs only the latest"))
            }
        case .all:
            let cut = max(0, late.count - maxCatchUp)
            result = late.enumerated().map { index, time in
                index < cut
                    ? DueOccurrence(scheduledFor: time, kind: .missed(reason: "\(downtime); more than \(maxCatchUp) occurrences to catch up"))
                    : DueOccurrence(scheduledFor: time, kind: .catchUp)
            }
        }
        return result + onTime.map { DueOccurrence(scheduledFor: $0, kind: .onTime) }
    }

    private func applyChanges() async {
        guard let store = storeBox.withLock({ $0 }) else { return }
        let pending = changed.withLock { changed in
            defer { changed.removeAll() }
            applying.withLock { $0 = !changed.isEmpty }
            return changed
        }
        defer { applying.withLock { $0 = false } }
        guard !pending.isEmpty else { return }
        let now = clock.now()
        for (id, reset) in pending {
            do {
                guard let event = try await store.event(id: id), event.isScheduled else {
                    entries.withLock { _ = $0.removeValue(forKey: id) }
                    continue
                }
                let kept = reset ? nil : entries.withLock { $0[id]?.nextFire }
                guard let next = kept ?? plannedFirstFire(event, now: now) else {
                    entries.withLock { _ = $0.removeValue(forKey: id) }
                    continue
                }
                entries.withLock { $0[id] = Entry(event: event, nextFire: next) }
                try await store.saveScheduleState(ScheduleState(eventId: id, nextFireAt: next, lastFireAt: nil))
            } catch {
                logger.error("reloading a schedule failed", metadata: ["event.id": "\(id)", "error": "\(String(reflecting: error))"])
            }
        }
    }

    private func plannedFirstFire(_ event: Event, now: Date) -> Date? {
        (try? event.schedule?.firstFire(notBefore: now)) ?? nil
    }
}

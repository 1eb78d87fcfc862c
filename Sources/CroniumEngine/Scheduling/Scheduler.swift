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

/// One event's or workflow's due occurrences at one instant, with where its timetable goes next.
public struct ScheduleFire: Sendable {
    public var owner: RunTarget
    public var schedule: Schedule
    public var occurrences: [DueOccurrence]
    /// The next planned fire, stored with the occurrences.
    public var state: ScheduleState
}

/// Where fires go. The engine's sink applies each owner's overlap policy and records one
/// instant's fires; benchmarks substitute a sink that only measures.
public protocol ScheduleSink: Sendable {
    /// Handles every event and workflow that fell due at one instant. Returns those whose fires
    /// could not be recorded, with why: they stay due, to be tried again.
    func fire(_ fires: [ScheduleFire], now: Date) async -> [RunTarget: any Error]
}

/// Keeps every scheduled event's and workflow's next fire time and wakes exactly when the
/// earliest is due.
public final class Scheduler: Sendable {
    let clock: any EngineClock
    let misfireThreshold: TimeInterval
    let maxCatchUp: Int
    let logger: Logger
    private let timetable = Mutex(Timetable())
    /// Events and workflows changed since the last look, and whether their timetable restarts from now.
    private let changed = Mutex<[RunTarget: Bool]>([:])
    private let doorbell = Doorbell()
    private let storeBox = Mutex<(any Store)?>(nil)
    private let applying = Mutex(false)
    private let passCount = Atomic(0)

    public init(clock: any EngineClock, misfireThreshold: TimeInterval, maxCatchUp: Int, logger: Logger) {
        self.clock = clock
        self.misfireThreshold = misfireThreshold
        self.maxCatchUp = maxCatchUp
        self.logger = logger
    }

    /// Reads every scheduled event and workflow and where its timetable stood. A stored next fire in the past
    /// is kept: the first pass of ``run(sink:)`` then applies the misfire policy to the downtime.
    public func load(from store: any Store) async throws {
        storeBox.withLock { $0 = store }
        let states = try await store.scheduleStates()
        let now = clock.now()
        var loaded = Timetable()
        let events = try await store.scheduledEvents().map { (RunTarget.event($0.id), $0.schedule) }
        let workflows = try await store.scheduledWorkflows().map { (RunTarget.workflow($0.id), $0.schedule) }
        for (owner, schedule) in events + workflows {
            guard let plan = plan(schedule, of: owner), let next = Self.nextFire(plan, state: states[owner], keep: true, now: now) else { continue }
            loaded.set(.init(owner: owner, plan: plan, nextFire: next))
        }
        timetable.withLock { $0 = loaded }
    }

    /// Adds an entry directly, for benchmarks and tests that drive a scheduler without a store.
    public func plan(_ event: Event, nextFire: Date) {
        guard let plan = plan(event.schedule, of: .event(event.id)) else { return }
        timetable.withLock { $0.set(.init(owner: .event(event.id), plan: plan, nextFire: nextFire)) }
        doorbell.ring()
    }

    public var plannedCount: Int { timetable.withLock { $0.count } }

    /// The timetable's next fire for the event or workflow; nil when it has none, when a change that
    /// restarts it has not been applied yet, or when its entry was planned for another schedule
    /// than `schedule` (a change being applied right now): the entry is stale then.
    public func nextFire(of owner: RunTarget, plannedFor schedule: Schedule? = nil) -> Date? {
        if changed.withLock({ $0[owner] }) == true { return nil }
        return timetable.withLock { timetable in
            guard let entry = timetable[owner], schedule == nil || entry.plan.schedule == schedule else { return nil }
            return entry.nextFire
        }
    }

    /// True when every reported change has been applied to the timetable.
    public var isSettled: Bool { changed.withLock { $0.isEmpty } && !applying.withLock { $0 } }

    /// How many times the scheduler has looked for due fires (after applying changes): a pass
    /// that ends after a change was applied has seen it, so a test can tell that nothing fired.
    public var passes: Int { passCount.load(ordering: .relaxed) }

    /// Makes the scheduler look once more at once, as a change would.
    public func lookAgain() { doorbell.ring() }

    func markChanged(_ owner: RunTarget, resetTimetable: Bool) async {
        changed.withLock { $0[owner] = ($0[owner] ?? false) || resetTimetable }
        doorbell.ring()
    }

    public func run(sink: any ScheduleSink) async {
        while !Task.isCancelled {
            await applyChanges()
            let now = clock.now()
            let due = timetable.withLock { $0.takeDue(now: now) }
            if !due.isEmpty { await fire(due, now: now, sink: sink) }
            prepareFollowingFires()
            passCount.add(1, ordering: .relaxed)
            if due.isEmpty { await doorbell.wait(until: timetable.withLock { $0.earliest }, clock: clock) }
        }
    }

    /// Hands one instant's due entries to the sink together, then puts them back into the
    /// timetable at their next fires (or, those the sink could not record, as they were, still due).
    private func fire(_ due: [Timetable.Entry], now: Date, sink: any ScheduleSink) async {
        let fires = due.map { fire(for: $0, now: now) }
        let failed = await sink.fire(fires, now: now)
        if !failed.isEmpty && Task.isCancelled {
            // Shutting down: what was not committed is fired by the next start's catch-up.
            logger.debug("stopped while recording fires", metadata: ["schedules": "\(failed.count)"])
            return
        }
        timetable.withLock { table in
            for entry in due where failed[entry.owner] != nil { table.set(entry) }
            for fire in fires where failed[fire.owner] == nil {
                if let next = fire.state.nextFireAt {
                    if var current = table[fire.owner] {
                        current.nextFire = next
                        table.set(current)
                    }
                } else {
                    table.remove(id: fire.owner)
                }
            }
        }
        if let (owner, error) = failed.first {
            // Those entries stay due; wait a little before trying again so a broken store is not hammered.
            logger.error(
                "firing schedules failed",
                metadata: ["schedules": "\(failed.count)", "schedule.owner": "\(owner)", "error": "\(String(reflecting: error))"]
            )
            try? await clock.sleep(until: clock.now() + 1)
        }
    }

    /// Works out each new entry's next-but-one fire, after the instant just served rather than
    /// while its fires wait.
    private func prepareFollowingFires() {
        let unprepared = timetable.withLock { $0.takeUnprepared() }
        guard !unprepared.isEmpty else { return }
        let following = unprepared.map { $0.plan.nextFire(after: $0.nextFire) }
        timetable.withLock { table in
            for (entry, next) in zip(unprepared, following) { table.setFollowing(next, id: entry.owner, after: entry.nextFire) }
        }
    }

    /// One entry's due occurrences, judged by its misfire policy, and its next fire.
    private func fire(for entry: Timetable.Entry, now: Date) -> ScheduleFire {
        let occurrences: [DueOccurrence]
        let last: Date
        let next: Date?
        if let following = entry.following, following > now, now.timeIntervalSince(entry.nextFire) <= misfireThreshold {
            // On time with nothing else due: the common case, with everything already worked out.
            occurrences = [DueOccurrence(scheduledFor: entry.nextFire, kind: .onTime)]
            (last, next) = (entry.nextFire, following)
        } else {
            let (times, dropped) = dueTimes(entry, now: now)
            // Never empty: the entry's own next fire is due.
            last = times.last ?? entry.nextFire
            occurrences = dropped + judge(times, now: now, policy: entry.plan.schedule.misfire)
            next = entry.plan.nextFire(after: last)
        }
        return ScheduleFire(
            owner: entry.owner,
            schedule: entry.plan.schedule,
            occurrences: occurrences,
            state: ScheduleState(owner: entry.owner, nextFireAt: next, lastFireAt: last)
        )
    }

    /// Most occurrences listed one by one in the ledger after downtime; a per-second schedule
    /// down for a day would otherwise write 86,400 rows in one transaction.
    public static let ledgerRowsPerCatchUp = 1_000

    /// Every occurrence from the entry's next fire through `now`, oldest first. Past
    /// ``ledgerRowsPerCatchUp`` only the latest are listed; the earlier ones become one missed
    /// row that counts them (the policy acts on the latest anyway: `last` runs only the latest,
    /// `all` at most `maxCatchUp`). The earlier ones are skipped by arithmetic, not walked.
    func dueTimes(_ entry: Timetable.Entry, now: Date) -> (times: [Date], dropped: [DueOccurrence]) {
        let limit = max(Self.ledgerRowsPerCatchUp, maxCatchUp)
        let (times, earlier) = entry.plan.latestOccurrences(from: entry.nextFire, through: now, limit: limit)
        guard earlier != 0, let firstKept = times.first else { return (times, []) }
        let until = firstKept.formatted(.iso8601)
        let what = earlier.map { "this and \($0 - 1) more occurrences before \(until)" } ?? "this and every occurrence before \(until)"
        let summary = DueOccurrence(
            scheduledFor: entry.nextFire,
            kind: .missed(reason: "\(what) were missed while Cronium was not running (one ledger row for all of them)")
        )
        return (times, [summary])
    }

    /// Decides which late occurrences run. On time means within the misfire threshold of now.
    ///
    /// Only the latest can be on time: when several fell due before the scheduler could serve
    /// them (after a restart, even within the threshold), the earlier ones were not served when
    /// they fell due, and the misfire policy decides about them, not the overlap policy.
    func judge(_ times: [Date], now: Date, policy: MisfirePolicy) -> [DueOccurrence] {
        var late = times
        var onTime: [Date] = []
        if let latest = times.last, now.timeIntervalSince(latest) <= misfireThreshold {
            onTime = [late.removeLast()]
        }
        let downtime = "fell due while Cronium was not running (or was late by more than \(Int(misfireThreshold))s)"
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
        for (owner, reset) in pending {
            do {
                guard let schedule = try await scheduleIfFiring(owner, in: store), let plan = plan(schedule, of: owner) else {
                    timetable.withLock { $0.remove(id: owner) }
                    continue
                }
                var next = reset ? nil : timetable.withLock { $0[owner]?.nextFire }
                if next == nil { next = Self.nextFire(plan, state: try await store.scheduleState(of: owner), keep: !reset, now: now) }
                guard let next else {
                    // Saved too, or a restart would bring back the old schedule's next fire.
                    timetable.withLock { $0.remove(id: owner) }
                    try await store.saveScheduleState(ScheduleState(owner: owner, nextFireAt: nil, lastFireAt: nil))
                    continue
                }
                timetable.withLock { $0.set(.init(owner: owner, plan: plan, nextFire: next)) }
                try await store.saveScheduleState(ScheduleState(owner: owner, nextFireAt: next, lastFireAt: nil))
            } catch {
                logger.error("reloading a schedule failed", metadata: ["schedule.owner": "\(owner)", "error": "\(String(reflecting: error))"])
            }
        }
    }

    /// The owner's schedule when the scheduler should fire it now; nil when it is gone or does not fire.
    private func scheduleIfFiring(_ owner: RunTarget, in store: any Store) async throws -> Schedule? {
        switch owner {
        case .event(let id): try await store.event(id: id).flatMap { $0.isScheduled ? $0.schedule : nil }
        case .workflow(let id): try await store.workflow(id: id).flatMap { $0.isScheduled ? $0.schedule : nil }
        }
    }

    /// Where an event's timetable continues. With `keep`, a stored state stands as it is: its
    /// next fire may lie in the past (the misfire policy then decides), and none means the
    /// schedule is used up (a one-shot that fired). Otherwise, or without a state, the timetable
    /// starts from now, but never again at or before the last fire: a one-shot whose time passed
    /// and that fired does not fire again when its event is re-activated.
    static func nextFire(_ plan: SchedulePlan, state: ScheduleState?, keep: Bool, now: Date) -> Date? {
        if keep, let state { return state.nextFireAt }
        guard let first = plan.firstFire(notBefore: now) else { return nil }
        if let last = state?.lastFireAt, first <= last { return nil }
        return first
    }

    /// The owner's schedule, checked once; nil (and logged) when it is not valid any more.
    private func plan(_ schedule: Schedule?, of owner: RunTarget) -> SchedulePlan? {
        guard let schedule else { return nil }
        do {
            return try SchedulePlan(schedule)
        } catch {
            logger.error("a schedule is not valid; it will not fire", metadata: ["schedule.owner": "\(owner)", "error": "\(error)"])
            return nil
        }
    }
}

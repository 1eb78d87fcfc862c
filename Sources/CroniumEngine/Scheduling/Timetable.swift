import CroniumCore
import Foundation
import HeapModule

/// Every scheduled event's and workflow's next fire, grouped by instant.
///
/// Cron schedules pile up on the same instants (every second, every minute, 03:00 each night), so
/// fires are kept in buckets, one per instant, with a heap of the instants: taking everything due
/// at one instant is one heap pop and one dictionary removal, however many events share it.
/// Changing an event leaves its id in the old bucket; an id whose entry is no longer bucketed at
/// that instant is stale and skipped, which spares a search on every change.
struct Timetable: Sendable {
    /// What stays the same from fire to fire, held by reference so that moving an entry around
    /// copies a pointer. Only the event's id and schedule are kept: its script and the rest stay
    /// in the store, so memory does not grow with the size of scheduled scripts.
    final class Scheduled: Sendable {
        let owner: RunTarget
        let plan: SchedulePlan

        init(owner: RunTarget, plan: SchedulePlan) {
            self.owner = owner
            self.plan = plan
        }
    }

    struct Entry: Sendable {
        let scheduled: Scheduled
        var owner: RunTarget { scheduled.owner }
        var plan: SchedulePlan { scheduled.plan }
        var nextFire: Date
        /// The fire after `nextFire`, worked out ahead of time so that an on-time fire computes
        /// nothing while other fires of the same instant wait. Nil when not worked out yet, or none.
        var following: Date?
        /// The instant whose bucket holds this entry's id; nil while it is being fired.
        fileprivate var bucketedAt: Date?

        init(owner: RunTarget, plan: SchedulePlan, nextFire: Date) {
            scheduled = Scheduled(owner: owner, plan: plan)
            self.nextFire = nextFire
        }
    }

    private var entries: [RunTarget: Entry] = [:]
    private var buckets: [Date: [RunTarget]] = [:]
    private var instants = Heap<Date>()
    /// Entries whose `following` is still to be worked out.
    private var unprepared: [RunTarget] = []

    var count: Int { entries.count }

    subscript(id: RunTarget) -> Entry? { entries[id] }

    /// Adds or replaces an entry (its `following` is worked out later, see ``takeUnprepared()``).
    mutating func set(_ entry: Entry) {
        var entry = entry
        entry.bucketedAt = entries[entry.owner]?.bucketedAt
        entry.following = nil
        if entry.bucketedAt != entry.nextFire {
            if buckets[entry.nextFire] == nil { instants.insert(entry.nextFire) }
            buckets[entry.nextFire, default: []].append(entry.owner)
            entry.bucketedAt = entry.nextFire
        }
        entries[entry.owner] = entry
        unprepared.append(entry.owner)
    }

    mutating func remove(id: RunTarget) { entries[id] = nil }

    /// The earliest instant that may have something due. It may turn out stale (everything in it
    /// moved); waking for it then finds nothing and drops it.
    var earliest: Date? { instants.min }

    /// Every entry due at or before `now`, earliest instant first, in the order they were
    /// planned. They stay in the timetable, unbucketed, until the caller sets them again.
    mutating func takeDue(now: Date) -> [Entry] {
        var due: [Entry] = []
        while let instant = instants.min, instant <= now {
            instants.removeMin()
            for id in buckets.removeValue(forKey: instant) ?? [] {
                guard let index = entries.index(forKey: id), entries.values[index].bucketedAt == instant else { continue }
                entries.values[index].bucketedAt = nil
                due.append(entries.values[index])
            }
        }
        return due
    }

    /// Entries set since the last call whose next-but-one fire is still to be worked out.
    mutating func takeUnprepared() -> [Entry] {
        defer { unprepared.removeAll() }
        return unprepared.compactMap { entries[$0] }.filter { $0.following == nil }
    }

    /// Records the fire after `nextFire` for an entry, unless the entry moved on meanwhile.
    mutating func setFollowing(_ following: Date?, id: RunTarget, after nextFire: Date) {
        guard entries[id]?.nextFire == nextFire else { return }
        entries[id]?.following = following
    }
}

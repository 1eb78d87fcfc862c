import Foundation

/// Fire-time computations. Each validates the schedule first, so a schedule that slipped past
/// validation (say, a zone removed from the tz database) surfaces as a `ScheduleError`. Callers
/// that ask for many fire times keep a ``SchedulePlan`` instead, which validates once.
extension Schedule {
    /// First fire time at or after `now`; see ``SchedulePlan/firstFire(notBefore:)``.
    public func firstFire(notBefore now: Date) throws(ScheduleError) -> Date? {
        try SchedulePlan(self).firstFire(notBefore: now)
    }

    /// The next fire strictly after a fire at `previous`; see ``SchedulePlan/nextFire(after:)``.
    public func nextFire(after previous: Date) throws(ScheduleError) -> Date? {
        try SchedulePlan(self).nextFire(after: previous)
    }
}

/// A validated schedule with its time zone and parsed cron expression kept, so a scheduler that
/// asks for a fire time every second does not parse the expression and look up the zone each time.
public struct SchedulePlan: Sendable {
    public let schedule: Schedule
    let zone: TimeZone
    let expression: CronExpression?

    public init(_ schedule: Schedule) throws(ScheduleError) {
        self.schedule = schedule
        (zone, expression) = try schedule.resolved()
    }

    /// First fire time at or after `now`.
    ///
    /// - interval: `startAt` if it is at or after `now`, else `now + intervalSeconds`.
    /// - cron: the first match at or after `max(now, startAt)`; nil if none within five years.
    /// - once: `startAt`, even if it is in the past, so the engine can apply the misfire policy.
    public func firstFire(notBefore now: Date) -> Date? {
        switch schedule.kind {
        case .interval:
            if let startAt = schedule.startAt, startAt >= now { return startAt }
            return now.addingTimeInterval(TimeInterval(schedule.intervalSeconds ?? 0))
        case .cron:
            return expression?.firstFire(
                notBefore: max(now, schedule.startAt ?? now),
                in: zone,
                gap: schedule.dstGap,
                overlap: schedule.dstOverlap
            )
        case .once:
            return schedule.startAt
        }
    }

    /// The next fire strictly after a fire at `previous`.
    ///
    /// - interval: `previous + intervalSeconds`: "every N since the previous fire", not aligned to
    ///   the clock, so a late fire moves the rhythm with it.
    /// - cron: the next match after `previous` (and not before `startAt`).
    /// - once: nil.
    public func nextFire(after previous: Date) -> Date? {
        switch schedule.kind {
        case .interval:
            return previous.addingTimeInterval(TimeInterval(schedule.intervalSeconds ?? 0))
        case .cron:
            if let startAt = schedule.startAt, startAt > previous {
                return expression?.firstFire(notBefore: startAt, in: zone, gap: schedule.dstGap, overlap: schedule.dstOverlap)
            }
            return expression?.nextFire(after: previous, in: zone, gap: schedule.dstGap, overlap: schedule.dstOverlap)
        case .once:
            return nil
        }
    }

    /// Fire times in `(from, through]`, ascending, at most `limit` of them: what fell due during
    /// downtime, for the misfire policy. `from` is taken as the last fire: an interval counts from
    /// it (or starts at `startAt` if that is later); a once schedule yields `startAt` if it is in
    /// the window.
    public func occurrences(after from: Date, through: Date, limit: Int) -> [Date] {
        var result: [Date] = []
        var candidate: Date? =
            switch schedule.kind {
            case .interval: schedule.startAt.flatMap { $0 > from ? $0 : nil } ?? nextFire(after: from)
            case .cron: nextFire(after: from)
            case .once: schedule.startAt.flatMap { $0 > from ? $0 : nil }
            }
        while let date = candidate, date <= through, result.count < limit {
            result.append(date)
            candidate = nextFire(after: date)
        }
        return result
    }

    /// The latest `limit` fire times in `[first, through]`, `first` being a fire time, and how
    /// many earlier ones there were, without walking them: after a month of downtime a per-second
    /// schedule has millions. Intervals count them exactly; a cron schedule is searched backwards
    /// from `through` in growing windows, and the earlier count is nil when it was not walked.
    public func latestOccurrences(from first: Date, through: Date, limit: Int) -> (times: [Date], earlier: Int?) {
        guard first <= through, limit > 0 else { return ([], 0) }
        switch schedule.kind {
        case .once:
            return ([first], 0)
        case .interval:
            let step = TimeInterval(max(schedule.intervalSeconds ?? 1, 1))
            let count = Int((through.timeIntervalSince(first) / step).rounded(.down)) + 1
            let earlier = max(count - limit, 0)
            return ((earlier..<count).map { first.addingTimeInterval(Double($0) * step) }, earlier)
        case .cron:
            var span: TimeInterval = 3600
            while through.addingTimeInterval(-span) > first {
                let window = occurrences(after: through.addingTimeInterval(-span), through: through, limit: limit * 4)
                if window.count >= limit { return (Array(window.suffix(limit)), nil) }
                span *= 4
            }
            var times = [first] + occurrences(after: first, through: through, limit: .max)
            let earlier = max(times.count - limit, 0)
            times.removeFirst(earlier)
            return (times, earlier)
        }
    }
}

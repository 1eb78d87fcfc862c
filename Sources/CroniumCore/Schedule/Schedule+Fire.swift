import Foundation

/// Fire-time computations. Each validates the schedule first, so a schedule that slipped past
/// validation (say, a zone removed from the tz database) surfaces as a `ScheduleError`.
extension Schedule {
    /// First fire time at or after `now`.
    ///
    /// - interval: `startAt` if it is at or after `now`, else `now + intervalSeconds`.
    /// - cron: the first match at or after `max(now, startAt)`; nil if none within five years.
    /// - once: `startAt`, even if it is in the past, so the engine can apply the misfire policy.
    public func firstFire(notBefore now: Date) throws(ScheduleError) -> Date? {
        let (zone, expression) = try resolved()
        switch kind {
        case .interval:
            if let startAt, startAt >= now { return startAt }
            return now.addingTimeInterval(TimeInterval(intervalSeconds ?? 0))
        case .cron:
            return expression?.firstFire(notBefore: max(now, startAt ?? now), in: zone, gap: dstGap, overlap: dstOverlap)
        case .once:
            return startAt
        }
    }

    /// The next fire strictly after a fire at `previous`.
    ///
    /// - interval: `previous + intervalSeconds`: "every N since the previous fire", not aligned to
    ///   the clock, so a late fire moves the rhythm with it.
    /// - cron: the next match after `previous` (and not before `startAt`).
    /// - once: nil.
    public func nextFire(after previous: Date) throws(ScheduleError) -> Date? {
        let (zone, expression) = try resolved()
        return next(after: previous, zone: zone, expression: expression)
    }

    /// Fire times in `(from, through]`, ascending, at most `limit` of them: what fell due during
    /// downtime, for the misfire policy. `from` is taken as the last fire: an interval counts from
    /// it (or starts at `startAt` if that is later); a once schedule yields `startAt` if it is in
    /// the window.
    public func occurrences(after from: Date, through: Date, limit: Int) throws(ScheduleError) -> [Date] {
        let (zone, expression) = try resolved()
        var result: [Date] = []
        var candidate: Date? = switch kind {
        case .interval: startAt.flatMap { $0 > from ? $0 : nil } ?? next(after: from, zone: zone, expression: expression)
        case .cron: next(after: from, zone: zone, expression: expression)
        case .once: startAt.flatMap { $0 > from ? $0 : nil }
        }
        while let date = candidate, date <= through, result.count < limit {
            result.append(date)
            candidate = next(after: date, zone: zone, expression: expression)
        }
        return result
    }

    private func next(after previous: Date, zone: TimeZone, expression: CronExpression?) -> Date? {
        switch kind {
        case .interval:
            return previous.addingTimeInterval(TimeInterval(intervalSeconds ?? 0))
        case .cron:
            if let startAt, startAt > previous {
                return expression?.firstFire(notBefore: startAt, in: zone, gap: dstGap, overlap: dstOverlap)
            }
            return expression?.nextFire(after: previous, in: zone, gap: dstGap, overlap: dstOverlap)
        case .once:
            return nil
        }
    }
}

import Foundation

/// A day when a cron schedule meets a change of the clocks in its time zone: some of its wall
/// times do not exist (the clocks spring forward over them) or happen twice (they fall back over
/// them). What it then does is its `dstGap` or `dstOverlap` policy; the editor shows these before
/// a schedule is saved, so nobody learns of them from a job that ran twice or not at all.
public struct ScheduleDSTNotice: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable {
        case gap = "GAP"
        case overlap = "OVERLAP"
    }

    public var kind: Kind
    /// The instant the clocks change.
    public var at: Date
    /// The schedule's wall times that the change touches, as `HH:MM` (or `HH:MM:SS`) on that day:
    /// the first ten (`message` says how many in all).
    public var wallTimes: [String]
    /// What happens, in a sentence.
    public var message: String
}

extension Schedule {
    /// The changes of the clocks within `days` after `now` that touch this schedule's wall times,
    /// oldest first. Only cron schedules have wall times: intervals and one-shots are instants.
    /// An expression whose hour field is `*` or `*/n` keeps its rhythm in real time through any
    /// change (see `CronExpression+Next`), so it has none.
    public func dstNotices(after now: Date, days: Int = 366) throws(ScheduleError) -> [ScheduleDSTNotice] {
        let (zone, parsed) = try resolved()
        guard kind == .cron, let expression = parsed, !expression.followsRealTimeInOverlap else { return [] }
        let end = now + TimeInterval(days) * 86_400
        var notices: [ScheduleDSTNotice] = []
        var cursor = now
        while let change = zone.nextDaylightSavingTimeTransition(after: cursor), change < end {
            cursor = change
            let before = Int64(zone.secondsFromGMT(for: change - 1))
            let after = Int64(zone.secondsFromGMT(for: change))
            guard before != after else { continue }
            let instant = Int64(change.timeIntervalSince1970)
            // The wall times the change skips or repeats: from the earlier offset's wall clock at
            // the change, for as long as the offsets differ.
            let from = instant + min(before, after)
            let to = instant + max(before, after)
            // Every match is counted (at most one a second of the window); the first ten are listed.
            var matches: [Int64] = []
            var count = 0
            var last: Int64 = 0
            var lower = from
            while let match = expression.firstWallMatch(from: lower, before: to) {
                if matches.count < 10 { matches.append(match) }
                (count, last, lower) = (count + 1, match, match + 1)
            }
            guard count > 0 else { continue }
            let times = matches.map(Self.wallText)
            let shown = count > 3 ? "\(times[0]) … \(Self.wallText(last)) (\(count) times)" : times.joined(separator: ", ")
            let verb = count == 1 ? (after > before ? "does not exist" : "happens twice") : (after > before ? "do not exist" : "happen twice")
            let day = Self.dayText(from)
            let gap = after > before
            let message =
                gap
                ? "On \(day) the clocks in \(timeZone) jump from \(Self.wallText(from)) to \(Self.wallText(to)): \(shown) \(verb) that day. "
                    + (dstGap == .skip ? "With dstGap 'skip' it does not fire then." : shiftText(matches, by: to - from, expression))
                : "On \(day) the clocks in \(timeZone) go back from \(Self.wallText(to)) to \(Self.wallText(from)): \(shown) \(verb) that day. "
                    + (dstOverlap == .once ? "With dstOverlap 'once' it fires at the first only." : "With dstOverlap 'twice' it fires at both.")
            notices.append(ScheduleDSTNotice(kind: gap ? .gap : .overlap, at: change, wallTimes: times, message: message))
        }
        return notices
    }

    /// Where `shift` moves the first missing wall time, and whether that is one of the
    /// expression's own times (then the two are one fire).
    private func shiftText(_ missing: [Int64], by length: Int64, _ expression: CronExpression) -> String {
        let moved = missing[0] + length
        let own = expression.firstWallMatch(from: moved, before: moved + 1) != nil
        return "With dstGap 'shift' it fires \(Self.duration(length)) later instead, at \(Self.wallText(moved))"
            + (own ? ", which is one of its own times: the two are one fire that day." : ".")
    }

    private static func wallText(_ wall: Int64) -> String {
        let t = CronCivilTime(wallSeconds: wall)
        let hm = String(format: "%02d:%02d", t.hour, t.minute)
        return t.second == 0 ? hm : hm + String(format: ":%02d", t.second)
    }

    private static func dayText(_ wall: Int64) -> String {
        let t = CronCivilTime(wallSeconds: wall)
        return String(format: "%04d-%02d-%02d", t.year, t.month, t.day)
    }

    private static func duration(_ seconds: Int64) -> String {
        seconds % 3600 == 0 ? "\(seconds / 3600) h" : "\(seconds / 60) min"
    }
}

/// What a schedule would do, before it is saved: its next fire times and the changes of the
/// clocks that touch it.
public struct SchedulePreview: Codable, Sendable, Equatable {
    public var timeZone: String
    public var times: [Date]
    public var dst: [ScheduleDSTNotice]

    public init(timeZone: String, times: [Date], dst: [ScheduleDSTNotice]) {
        self.timeZone = timeZone
        self.times = times
        self.dst = dst
    }
}

extension Schedule {
    /// The next `count` fire times from `now`, and the clock changes of the coming year that
    /// touch the schedule; a problem with the schedule is a ``ValidationError`` on its field.
    public func preview(from now: Date, count: Int) throws(ValidationError) -> SchedulePreview {
        do {
            let plan = try SchedulePlan(self)
            var times: [Date] = []
            var next = plan.firstFire(notBefore: now)
            while let time = next, times.count < count {
                times.append(time)
                next = plan.nextFire(after: time)
            }
            return SchedulePreview(timeZone: timeZone, times: times, dst: try dstNotices(after: now))
        } catch {
            throw ValidationError(field: error.field, message: error.message)
        }
    }
}

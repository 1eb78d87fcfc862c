extension CronExpression {
    /// The first wall time in `[lower, upper)` (wall seconds, see `CronCivilTime`) that matches
    /// the expression, or nil.
    ///
    /// Jumps field by field (to the next allowed month, then day, hour, minute, second), resetting
    /// the smaller fields on every jump, so the cost is a handful of steps per day inspected rather
    /// than one per second. `upper` bounds the search, which is what makes it terminate for
    /// expressions that match rarely or never.
    func firstWallMatch(from lower: Int64, before upper: Int64) -> Int64? {
        var t = CronCivilTime(wallSeconds: lower)
        while t.wallSeconds < upper {
            guard let month = months.next(atOrAfter: t.month) else {
                t = CronCivilTime(year: t.year + 1, month: 1, day: 1)
                continue
            }
            if month != t.month {
                t = CronCivilTime(year: t.year, month: month, day: 1)
                continue
            }
            guard days.matches(year: t.year, month: t.month, day: t.day) else {
                t.advanceToNextDay()
                continue
            }
            guard let hour = hours.next(atOrAfter: t.hour) else {
                t.advanceToNextDay()
                continue
            }
            if hour != t.hour { (t.hour, t.minute, t.second) = (hour, 0, 0) }
            guard let minute = minutes.next(atOrAfter: t.minute) else {
                advanceToNextHour(&t)
                continue
            }
            if minute != t.minute { (t.minute, t.second) = (minute, 0) }
            guard let second = seconds.next(atOrAfter: t.second) else {
                if t.minute < 59 { (t.minute, t.second) = (t.minute + 1, 0) } else { advanceToNextHour(&t) }
                continue
            }
            t.second = second
            let wall = t.wallSeconds
            return wall < upper ? wall : nil
        }
        return nil
    }

    private func advanceToNextHour(_ t: inout CronCivilTime) {
        if t.hour < 23 { (t.hour, t.minute, t.second) = (t.hour + 1, 0, 0) } else { t.advanceToNextDay() }
    }
}

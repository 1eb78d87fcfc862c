/// The day-of-month and day-of-week fields, which cron evaluates together.
///
/// Besides plain values they accept `L` / `L-n` (the last day of the month, or n days before it),
/// `nL` (the last weekday n of the month) and `n#k` (the k-th weekday n of the month).
struct CronDays: Sendable, Equatable {
    struct NthWeekday: Sendable, Equatable {
        let weekday: Int  // 0 = Sunday
        let occurrence: Int  // 1...5
    }

    private(set) var daysOfMonth: CronField
    /// From `L` (0) and `L-n` (n): how many days before the month's last day.
    private(set) var daysBeforeLast: [Int] = []
    private(set) var weekdays: CronField
    /// From `nL`: weekdays whose last occurrence in the month matches.
    private(set) var lastWeekdays: [Int] = []
    /// From `n#k`.
    private(set) var nthWeekdays: [NthWeekday] = []

    init(dayOfMonth: Substring, dayOfWeek: Substring) throws(ScheduleError) {
        var daysBeforeLast: [Int] = []
        daysOfMonth = try CronField(dayOfMonth, .dayOfMonth) { item throws(ScheduleError) in
            let upper = item.uppercased()
            if upper.hasSuffix("W") {
                throw .cron(.dayOfMonth, dayOfMonth, "'W' (nearest weekday) is not supported; list the days or use day-of-week")
            }
            guard upper.hasPrefix("L") else { return false }
            if upper == "L" { daysBeforeLast.append(0); return true }
            let n = upper.dropFirst(2)
            guard upper.dropFirst().hasPrefix("-"), n.allSatisfy(\.isASCIIDigitCharacter), let days = Int(n), (0...30).contains(days) else {
                throw .cron(.dayOfMonth, dayOfMonth, "'\(item)' must be L (last day) or L-n with n 0-30 (n days before the last day)")
            }
            daysBeforeLast.append(days)
            return true
        }
        var lastWeekdays: [Int] = []
        var nthWeekdays: [NthWeekday] = []
        weekdays = try CronField(dayOfWeek, .dayOfWeek) { item throws(ScheduleError) in
            let upper = item.uppercased()
            if upper == "L" {
                throw .cron(.dayOfWeek, dayOfWeek, "'L' alone is ambiguous here; write nL, e.g. 5L for the last Friday of the month")
            }
            if upper.count > 1, upper.hasSuffix("L") {
                lastWeekdays.append(try Self.weekday(upper.dropLast(), in: dayOfWeek))
                return true
            }
            let parts = upper.split(separator: "#", omittingEmptySubsequences: false)
            guard parts.count > 1 else { return false }
            guard parts.count == 2, parts[1].allSatisfy(\.isASCIIDigitCharacter), let k = Int(parts[1]), (1...5).contains(k) else {
                throw .cron(.dayOfWeek, dayOfWeek, "'\(item)' must be n#k with k 1-5 (e.g. 1#2 for the second Monday)")
            }
            nthWeekdays.append(NthWeekday(weekday: try Self.weekday(parts[0], in: dayOfWeek), occurrence: k))
            return true
        }
        self.daysBeforeLast = daysBeforeLast
        self.lastWeekdays = lastWeekdays
        self.nthWeekdays = nthWeekdays
    }

    /// Vixie cron's rule: if both fields are restricted (neither is `*` or `?`), a day matches when
    /// either does; otherwise only the restricted one counts. So `0 0 1 * MON` is "the 1st and every
    /// Monday", not "Mondays that fall on the 1st".
    func matches(year: Int, month: Int, day: Int) -> Bool {
        switch (daysOfMonth.isWildcard, weekdays.isWildcard) {
        case (true, true): true
        case (false, true): matchesDayOfMonth(year: year, month: month, day: day)
        case (true, false): matchesDayOfWeek(year: year, month: month, day: day)
        case (false, false): matchesDayOfMonth(year: year, month: month, day: day) || matchesDayOfWeek(year: year, month: month, day: day)
        }
    }

    /// Rejects expressions that can never fire because only day-of-month restricts the day and
    /// none of its days exists in any selected month (`0 0 30 2 *`), so callers learn at
    /// validation time instead of waiting for a fire that never comes.
    func checkReachable(in months: CronField, dayOfMonthText: Substring) throws(ScheduleError) {
        guard !daysOfMonth.isWildcard, weekdays.isWildcard else { return }
        let reachable = (1...12).contains { month in
            guard months.contains(month) else { return false }
            let longest = CronCivilTime.daysInMonth(year: 2000, month: month)  // a leap year
            return daysOfMonth.next(atOrAfter: 1).map { $0 <= longest } == true
                || daysBeforeLast.contains { $0 < longest }
        }
        if !reachable {
            throw .cron(.dayOfMonth, dayOfMonthText, "none of these days exists in the selected months, so the schedule would never fire")
        }
    }

    private func matchesDayOfMonth(year: Int, month: Int, day: Int) -> Bool {
        if daysOfMonth.contains(day) { return true }
        guard !daysBeforeLast.isEmpty else { return false }
        let last = CronCivilTime.daysInMonth(year: year, month: month)
        return daysBeforeLast.contains { last - $0 == day }
    }

    private func matchesDayOfWeek(year: Int, month: Int, day: Int) -> Bool {
        let weekday = CronCivilTime.weekday(year: year, month: month, day: day)
        if weekdays.contains(weekday) { return true }
        if lastWeekdays.contains(weekday), day + 7 > CronCivilTime.daysInMonth(year: year, month: month) { return true }
        return nthWeekdays.contains { $0.weekday == weekday && (day - 1) / 7 + 1 == $0.occurrence }
    }

    /// A weekday number 0-7 or name, with 7 folded onto Sunday.
    private static func weekday(_ text: Substring, in fieldText: Substring) throws(ScheduleError) -> Int {
        try CronFieldKind.dayOfWeek.value(text, in: fieldText) % 7
    }
}

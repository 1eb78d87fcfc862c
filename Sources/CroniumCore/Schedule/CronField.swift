/// One parsed cron field: the set of values it allows, kept as a bitmask so that "next allowed
/// value at or after v" is a shift and a trailing-zero count instead of a loop.
struct CronField: Sendable, Equatable {
    /// Bit `v` is set when value `v` is allowed.
    let mask: UInt64
    /// The text was exactly `*` or `?`. Day fields need to know, for the Vixie rule that a
    /// restricted day-of-month and a restricted day-of-week are OR-ed.
    let isWildcard: Bool

    /// Parses a comma-separated list of `*`, `?`, `a`, `a-b`, each optionally with `/step`.
    /// `special` lets the day fields claim items of their own syntax (`L`, `5L`, `1#2`) first;
    /// it returns true when it consumed the item.
    init(
        _ text: Substring,
        _ kind: CronFieldKind,
        special: (Substring) throws(ScheduleError) -> Bool = { _ in false }
    ) throws(ScheduleError) {
        var mask: UInt64 = 0
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            if try special(item) { continue }
            mask |= try Self.mask(ofItem: item, kind, in: text)
        }
        if kind == .dayOfWeek, mask & (1 << 7) != 0 {
            mask = mask & ~(1 << 7) | 1  // 7 is Sunday, like 0
        }
        self.mask = mask
        self.isWildcard = text == "*" || (text == "?" && kind.acceptsQuestionMark)
    }

    func contains(_ value: Int) -> Bool { mask & (1 << UInt64(value)) != 0 }

    /// The smallest allowed value that is `>= value`, if any.
    func next(atOrAfter value: Int) -> Int? {
        guard value < 64 else { return nil }
        let rest = mask >> UInt64(value)
        return rest == 0 ? nil : value + rest.trailingZeroBitCount
    }

    private static func mask(ofItem item: Substring, _ kind: CronFieldKind, in fieldText: Substring) throws(ScheduleError) -> UInt64 {
        if item.isEmpty { throw .cron(kind, fieldText, "empty list item (check for stray commas)") }
        let parts = item.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count <= 2 else { throw .cron(kind, fieldText, "'\(item)' has more than one '/'") }
        var step = 1
        if parts.count == 2 {
            guard parts[1].allSatisfy(\.isASCIIDigitCharacter), let n = Int(parts[1]), n >= 1 else {
                throw .cron(kind, fieldText, "step '\(parts[1])' must be a whole number of at least 1")
            }
            step = n
        }
        let range = try Self.range(parts[0], kind, openEnded: parts.count == 2, in: fieldText)
        var mask: UInt64 = 0
        for value in stride(from: range.lowerBound, through: range.upperBound, by: step) {
            mask |= 1 << UInt64(value)
        }
        return mask
    }

    /// The range an item's base covers: `*`/`?`, `a-b`, or `a` (which means `a`-max before a step,
    /// as in `5/15`, and just `a` otherwise).
    private static func range(_ base: Substring, _ kind: CronFieldKind, openEnded: Bool, in fieldText: Substring) throws(ScheduleError)
        -> ClosedRange<Int>
    {
        if base == "*" { return kind.fullRange }
        if base == "?" {
            guard kind.acceptsQuestionMark else {
                throw .cron(kind, fieldText, "'?' is only allowed in the day-of-month and day-of-week fields")
            }
            return kind.fullRange
        }
        let ends = base.split(separator: "-", omittingEmptySubsequences: false)
        guard ends.count <= 2 else { throw .cron(kind, fieldText, "'\(base)' is not a value or a range a-b") }
        let low = try kind.value(ends[0], in: fieldText)
        guard ends.count == 2 else {
            return openEnded ? low...max(low, kind.fullRange.upperBound) : low...low
        }
        let high = try kind.value(ends[1], in: fieldText)
        guard low <= high else {
            throw .cron(kind, fieldText, "range \(base) runs backwards; cron ranges do not wrap around, so write two ranges joined by a comma")
        }
        return low...high
    }
}

import Foundation

/// A parsed cron expression.
///
/// Accepts 5 fields (`minute hour day-of-month month day-of-week`, second = 0) or 6 with seconds
/// first (`second minute hour day-of-month month day-of-week`, as Quartz, Dkron and Windmill), and
/// the macros `@yearly`/`@annually`, `@monthly`, `@weekly`, `@daily`/`@midnight`, `@hourly` and
/// `@minutely`. See `CronField` and `CronDays` for the syntax inside a field.
public struct CronExpression: Sendable, Equatable, CustomStringConvertible {
    /// The expression as written (trimmed), so it can be shown back to the person who wrote it.
    public let text: String

    let seconds: CronField
    let minutes: CronField
    let hours: CronField
    let days: CronDays
    let months: CronField
    /// True when the hour field is `*` or `*/n` (Vixie cron's "wildcard hour"). Such expressions
    /// follow real time through a repeated hour when clocks fall back, whatever the overlap policy,
    /// because they describe a rhythm rather than a time of day: `*/5 * * * *` must not go silent
    /// for an hour.
    let followsRealTimeInOverlap: Bool

    public init(_ text: String) throws(ScheduleError) {
        self.text = text.trimmingCharacters(in: .whitespacesAndNewlines)
        let fields = try Self.expandMacro(self.text).split(whereSeparator: \.isWhitespace)
        guard fields.count == 5 || fields.count == 6 else {
            throw ScheduleError(
                field: "schedule.cron",
                message:
                    "expected 5 fields (minute hour day-of-month month day-of-week) or 6 with seconds first, got \(fields.count) in '\(self.text)'"
            )
        }
        let f = fields.count == 6 ? fields : ["0"] + fields
        seconds = try CronField(f[0], .second)
        minutes = try CronField(f[1], .minute)
        hours = try CronField(f[2], .hour)
        months = try CronField(f[4], .month)
        days = try CronDays(dayOfMonth: f[3], dayOfWeek: f[5])
        try days.checkReachable(in: months, dayOfMonthText: f[3])
        followsRealTimeInOverlap = f[2] == "*" || (f[2].hasPrefix("*/") && !f[2].contains(","))
    }

    public var description: String { text }

    private static let macros: [String: String] = [
        "@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *",
        "@monthly": "0 0 1 * *",
        "@weekly": "0 0 * * 0",
        "@daily": "0 0 * * *", "@midnight": "0 0 * * *",
        "@hourly": "0 * * * *",
        "@minutely": "* * * * *",
    ]

    private static func expandMacro(_ text: String) throws(ScheduleError) -> String {
        guard text.hasPrefix("@") else { return text }
        let name = text.lowercased()
        if name == "@reboot" {
            throw ScheduleError(
                field: "schedule.cron",
                message:
                    "@reboot is not supported: Cronium schedules fire at clock times, not when a machine starts; use a time-based expression or run the event manually"
            )
        }
        guard let expansion = macros[name] else {
            throw ScheduleError(
                field: "schedule.cron",
                message: "unknown macro '\(text)'; use @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly or @minutely"
            )
        }
        return expansion
    }
}

import CroniumCore
import Foundation
import Testing

/// Helpers shared by the Schedule*Tests suites. Expected times in those suites are written as
/// ISO-8601 strings with the zone's offset, so an overlap's two instances read differently
/// (`02:30:00+02:00` vs `02:30:00+01:00`).
enum ScheduleFixtures {
    /// Parses `2027-03-28T03:30:00+02:00` or `...Z` with Foundation's own parser, independent of
    /// the formatter under test.
    static func date(_ text: String) throws -> Date {
        let parser = ISO8601DateFormatter()
        parser.formatOptions = [.withInternetDateTime]
        return try #require(parser.date(from: text), "bad ISO-8601 fixture '\(text)'")
    }

    static func zone(_ identifier: String) throws -> TimeZone {
        try #require(TimeZone(identifier: identifier), "unknown zone \(identifier)")
    }

    /// `count` successive fires strictly after `after`, formatted in `zoneID`.
    static func fires(
        _ expression: String,
        zone zoneID: String,
        after: String,
        count: Int,
        gap: DSTGapPolicy = .shift,
        overlap: DSTOverlapPolicy = .once
    ) throws -> [String] {
        let cron = try CronExpression(expression)
        let zone = try zone(zoneID)
        var result: [String] = []
        var previous = try date(after)
        while result.count < count, let next = cron.nextFire(after: previous, in: zone, gap: gap, overlap: overlap) {
            result.append(formatISO8601(next, timeZone: zone))
            previous = next
        }
        return result
    }

    /// The error a throwing call produced, or nil when it did not throw.
    static func scheduleError(_ body: () throws(ScheduleError) -> Void) -> ScheduleError? {
        do {
            try body()
            return nil
        } catch {
            return error
        }
    }
}

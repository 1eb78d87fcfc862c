import CroniumCore
import Foundation
import Testing

/// Known fire times across DST transitions. Transitions, from `zdump -v -c 2026,2028`:
/// - Europe/Berlin: 2027-03-28 02:00 CET → 03:00 CEST (01:00Z); 2027-10-31 03:00 CEST → 02:00 CET (01:00Z).
/// - America/New_York: 2027-03-14 02:00 EST → 03:00 EDT (07:00Z); 2027-11-07 02:00 EDT → 01:00 EST (06:00Z).
/// - Australia/Lord_Howe (30-minute DST): 2027-04-04 02:00 +11 → 01:30 +10:30 (2027-04-03 15:00Z);
///   2027-10-03 02:00 +10:30 → 02:30 +11 (2027-10-02 15:30Z).
/// - Asia/Kolkata: +05:30 all year.
/// Expected values were derived by hand from those transitions and cross-checked with a
/// brute-force Python `zoneinfo` walk over real time, not with the code under test.
@Suite("Cron fire times across DST")
struct ScheduleDSTTests {
    struct Case: CustomTestStringConvertible, Sendable {
        let name: String
        let expression: String
        let zone: String
        let gap: DSTGapPolicy
        let overlap: DSTOverlapPolicy
        let after: String
        let expected: [String]

        init(
            _ name: String,
            _ expression: String,
            _ zone: String,
            _ gap: DSTGapPolicy = .shift,
            _ overlap: DSTOverlapPolicy = .once,
            after: String,
            _ expected: [String]
        ) {
            (self.name, self.expression, self.zone, self.gap, self.overlap, self.after, self.expected) = (
                name, expression, zone, gap, overlap, after, expected
            )
        }

        var testDescription: String { "\(zone) '\(expression)' gap=\(gap) overlap=\(overlap): \(name)" }
    }

    static let berlin: [Case] = [
        Case(
            "daily 02:30 in the gap is shifted to 03:30",
            "30 2 * * *",
            "Europe/Berlin",
            .shift,
            after: "2027-03-26T12:00:00+01:00",
            ["2027-03-27T02:30:00+01:00", "2027-03-28T03:30:00+02:00", "2027-03-29T02:30:00+02:00"]
        ),
        Case(
            "daily 02:30 in the gap is skipped",
            "30 2 * * *",
            "Europe/Berlin",
            .skip,
            after: "2027-03-26T12:00:00+01:00",
            ["2027-03-27T02:30:00+01:00", "2027-03-29T02:30:00+02:00"]
        ),
        Case(
            "a shifted 02:30 and the real 03:30 fire once",
            "30 2,3 * * *",
            "Europe/Berlin",
            .shift,
            after: "2027-03-28T00:00:00+01:00",
            ["2027-03-28T03:30:00+02:00", "2027-03-29T02:30:00+02:00", "2027-03-29T03:30:00+02:00"]
        ),
        Case(
            "half-hourly runs straight through the gap",
            "*/30 * * * *",
            "Europe/Berlin",
            .shift,
            after: "2027-03-28T01:00:00+01:00",
            ["2027-03-28T01:30:00+01:00", "2027-03-28T03:00:00+02:00", "2027-03-28T03:30:00+02:00"]
        ),
        Case(
            "hourly with skip loses only the missing hour",
            "0 * * * *",
            "Europe/Berlin",
            .skip,
            after: "2027-03-28T00:30:00+01:00",
            ["2027-03-28T01:00:00+01:00", "2027-03-28T03:00:00+02:00", "2027-03-28T04:00:00+02:00"]
        ),
        Case(
            "seconds field, shifted",
            "30 15 2 * * *",
            "Europe/Berlin",
            .shift,
            after: "2027-03-27T12:00:00+01:00",
            ["2027-03-28T03:15:30+02:00", "2027-03-29T02:15:30+02:00"]
        ),
        Case(
            "Vixie OR on the gap day (28th or Sunday)",
            "30 2 28 * SUN",
            "Europe/Berlin",
            .shift,
            after: "2027-03-27T00:00:00+01:00",
            ["2027-03-28T03:30:00+02:00", "2027-04-04T02:30:00+02:00", "2027-04-11T02:30:00+02:00"]
        ),
        Case(
            "4th Sunday of March is the gap day in 2027 and 2028",
            "30 2 * 3 SUN#4",
            "Europe/Berlin",
            .shift,
            after: "2027-01-01T00:00:00+01:00",
            ["2027-03-28T03:30:00+02:00", "2028-03-26T03:30:00+02:00"]
        ),
        Case(
            "last Sunday 02:30 never exists in March; skip drops it",
            "30 2 * * 0L",
            "Europe/Berlin",
            .skip,
            after: "2027-02-01T00:00:00+01:00",
            ["2027-02-28T02:30:00+01:00", "2027-04-25T02:30:00+02:00"]
        ),
        Case(
            "daily 02:30 in the overlap fires at the first instance",
            "30 2 * * *",
            "Europe/Berlin",
            .shift,
            .once,
            after: "2027-10-30T12:00:00+02:00",
            ["2027-10-31T02:30:00+02:00", "2027-11-01T02:30:00+01:00"]
        ),
        Case(
            "daily 02:30 in the overlap fires at both instances",
            "30 2 * * *",
            "Europe/Berlin",
            .shift,
            .twice,
            after: "2027-10-30T12:00:00+02:00",
            ["2027-10-31T02:30:00+02:00", "2027-10-31T02:30:00+01:00", "2027-11-01T02:30:00+01:00"]
        ),
        Case(
            "hourly (hour *) follows real time through the overlap",
            "0 * * * *",
            "Europe/Berlin",
            .shift,
            .once,
            after: "2027-10-31T00:30:00+02:00",
            ["2027-10-31T01:00:00+02:00", "2027-10-31T02:00:00+02:00", "2027-10-31T02:00:00+01:00", "2027-10-31T03:00:00+01:00"]
        ),
        Case(
            "hour */2 also follows real time",
            "0 */2 * * *",
            "Europe/Berlin",
            .shift,
            .once,
            after: "2027-10-30T23:00:00+02:00",
            ["2027-10-31T00:00:00+02:00", "2027-10-31T02:00:00+02:00", "2027-10-31T02:00:00+01:00", "2027-10-31T04:00:00+01:00"]
        ),
        Case(
            "hour 0-23 is a list of times of day, so once applies",
            "0 0-23 * * *",
            "Europe/Berlin",
            .shift,
            .once,
            after: "2027-10-31T00:30:00+02:00",
            ["2027-10-31T01:00:00+02:00", "2027-10-31T02:00:00+02:00", "2027-10-31T03:00:00+01:00"]
        ),
        Case(
            "seconds field, both instances",
            "30 15 2 * * *",
            "Europe/Berlin",
            .shift,
            .twice,
            after: "2027-10-30T12:00:00+02:00",
            ["2027-10-31T02:15:30+02:00", "2027-10-31T02:15:30+01:00", "2027-11-01T02:15:30+01:00"]
        ),
        Case(
            "L on the fall-back day, both instances",
            "30 2 L * *",
            "Europe/Berlin",
            .shift,
            .twice,
            after: "2027-10-01T00:00:00+02:00",
            ["2027-10-31T02:30:00+02:00", "2027-10-31T02:30:00+01:00", "2027-11-30T02:30:00+01:00"]
        ),
        // Past 2037 the tz database's rules come from the POSIX TZ footer; zdump -c 2090,2091.
        Case(
            "far future gap (2090-03-26)",
            "30 2 * * *",
            "Europe/Berlin",
            .shift,
            after: "2090-03-25T12:00:00+01:00",
            ["2090-03-26T03:30:00+02:00", "2090-03-27T02:30:00+02:00"]
        ),
        Case(
            "far future overlap (2090-10-29)",
            "30 2 * * *",
            "Europe/Berlin",
            .shift,
            .once,
            after: "2090-10-28T12:00:00+02:00",
            ["2090-10-29T02:30:00+02:00", "2090-10-30T02:30:00+01:00"]
        ),
    ]

    static let newYork: [Case] = [
        Case(
            "daily 02:30 in the gap is shifted",
            "30 2 * * *",
            "America/New_York",
            .shift,
            after: "2027-03-13T00:00:00-05:00",
            ["2027-03-13T02:30:00-05:00", "2027-03-14T03:30:00-04:00", "2027-03-15T02:30:00-04:00"]
        ),
        Case(
            "daily 02:30 in the gap is skipped",
            "30 2 * * *",
            "America/New_York",
            .skip,
            after: "2027-03-13T00:00:00-05:00",
            ["2027-03-13T02:30:00-05:00", "2027-03-15T02:30:00-04:00"]
        ),
        Case(
            "weekday 09:00 keeps its wall time across the change",
            "0 9 * * MON-FRI",
            "America/New_York",
            after: "2027-03-12T12:00:00-05:00",
            ["2027-03-15T09:00:00-04:00", "2027-03-16T09:00:00-04:00"]
        ),
        Case(
            "daily 01:30 in the overlap, once",
            "30 1 * * *",
            "America/New_York",
            .shift,
            .once,
            after: "2027-11-06T12:00:00-04:00",
            ["2027-11-07T01:30:00-04:00", "2027-11-08T01:30:00-05:00"]
        ),
        Case(
            "daily 01:30 in the overlap, twice",
            "30 1 * * *",
            "America/New_York",
            .shift,
            .twice,
            after: "2027-11-06T12:00:00-04:00",
            ["2027-11-07T01:30:00-04:00", "2027-11-07T01:30:00-05:00", "2027-11-08T01:30:00-05:00"]
        ),
        Case(
            "starting inside the repeated hour, once does not refire",
            "30 1 * * *",
            "America/New_York",
            .shift,
            .once,
            after: "2027-11-07T01:10:00-05:00",
            ["2027-11-08T01:30:00-05:00"]
        ),
        Case(
            "02:00 is not repeated (the clock goes 01:59 EDT → 01:00 EST)",
            "0 2 * * *",
            "America/New_York",
            .shift,
            .twice,
            after: "2027-11-06T12:00:00-04:00",
            ["2027-11-07T02:00:00-05:00", "2027-11-08T02:00:00-05:00"]
        ),
        Case(
            "*/20 keeps firing through the repeated hour",
            "*/20 * * * *",
            "America/New_York",
            .shift,
            .once,
            after: "2027-11-07T00:50:00-04:00",
            [
                "2027-11-07T01:00:00-04:00", "2027-11-07T01:20:00-04:00", "2027-11-07T01:40:00-04:00",
                "2027-11-07T01:00:00-05:00", "2027-11-07T01:20:00-05:00", "2027-11-07T01:40:00-05:00", "2027-11-07T02:00:00-05:00",
            ]
        ),
        Case(
            "seconds field in the overlap, once",
            "30 59 1 * * *",
            "America/New_York",
            .shift,
            .once,
            after: "2027-11-07T00:00:00-04:00",
            ["2027-11-07T01:59:30-04:00", "2027-11-08T01:59:30-05:00"]
        ),
        Case(
            "seconds field in the overlap, twice",
            "*/30 59 1 * * *",
            "America/New_York",
            .shift,
            .twice,
            after: "2027-11-07T00:00:00-04:00",
            ["2027-11-07T01:59:00-04:00", "2027-11-07T01:59:30-04:00", "2027-11-07T01:59:00-05:00", "2027-11-07T01:59:30-05:00"]
        ),
    ]

    static let lordHowe: [Case] = [
        Case(
            "01:45 in the 30-minute overlap, once",
            "45 1 * * *",
            "Australia/Lord_Howe",
            .shift,
            .once,
            after: "2027-04-03T12:00:00+11:00",
            ["2027-04-04T01:45:00+11:00", "2027-04-05T01:45:00+10:30"]
        ),
        Case(
            "01:45 in the 30-minute overlap, twice",
            "45 1 * * *",
            "Australia/Lord_Howe",
            .shift,
            .twice,
            after: "2027-04-03T12:00:00+11:00",
            ["2027-04-04T01:45:00+11:00", "2027-04-04T01:45:00+10:30", "2027-04-05T01:45:00+10:30"]
        ),
        Case(
            "*/15 through the repeated half hour",
            "*/15 * * * *",
            "Australia/Lord_Howe",
            .shift,
            .once,
            after: "2027-04-04T01:20:00+11:00",
            [
                "2027-04-04T01:30:00+11:00", "2027-04-04T01:45:00+11:00", "2027-04-04T01:30:00+10:30",
                "2027-04-04T01:45:00+10:30", "2027-04-04T02:00:00+10:30",
            ]
        ),
        Case(
            "02:15 in the 30-minute gap is shifted by 30 minutes",
            "15 2 * * *",
            "Australia/Lord_Howe",
            .shift,
            after: "2027-10-02T12:00:00+10:30",
            ["2027-10-03T02:45:00+11:00", "2027-10-04T02:15:00+11:00"]
        ),
        Case(
            "02:15 in the 30-minute gap is skipped",
            "15 2 * * *",
            "Australia/Lord_Howe",
            .skip,
            after: "2027-10-02T12:00:00+10:30",
            ["2027-10-04T02:15:00+11:00", "2027-10-05T02:15:00+11:00"]
        ),
        Case(
            "02:00 shifted lands on 02:30",
            "0 2 * * *",
            "Australia/Lord_Howe",
            .shift,
            after: "2027-10-02T12:00:00+10:30",
            ["2027-10-03T02:30:00+11:00", "2027-10-04T02:00:00+11:00"]
        ),
        Case(
            "half-hourly: shifted 02:00 and real 02:30 fire once",
            "0,30 * * * *",
            "Australia/Lord_Howe",
            .shift,
            after: "2027-10-03T01:00:00+10:30",
            ["2027-10-03T01:30:00+10:30", "2027-10-03T02:30:00+11:00", "2027-10-03T03:00:00+11:00"]
        ),
    ]

    static let kolkata: [Case] = [
        Case(
            "daily 02:30, no DST",
            "30 2 * * *",
            "Asia/Kolkata",
            after: "2027-03-27T00:00:00+05:30",
            ["2027-03-27T02:30:00+05:30", "2027-03-28T02:30:00+05:30"]
        ),
        Case(
            "09:00 local is 03:30Z",
            "0 9 * * *",
            "Asia/Kolkata",
            after: "2027-01-01T00:00:00Z",
            ["2027-01-01T09:00:00+05:30", "2027-01-02T09:00:00+05:30"]
        ),
        Case(
            "minutes 0 and 45 on the half-hour offset",
            "*/45 * * * *",
            "Asia/Kolkata",
            after: "2027-01-01T00:00:00+05:30",
            ["2027-01-01T00:45:00+05:30", "2027-01-01T01:00:00+05:30", "2027-01-01T01:45:00+05:30"]
        ),
        Case(
            "last day of February, leap year",
            "0 0 L 2 *",
            "Asia/Kolkata",
            after: "2027-06-01T00:00:00+05:30",
            ["2028-02-29T00:00:00+05:30", "2029-02-28T00:00:00+05:30"]
        ),
        Case(
            "second Monday, six fields",
            "0 0 8 ? * 1#2",
            "Asia/Kolkata",
            after: "2027-01-01T00:00:00+05:30",
            ["2027-01-11T08:00:00+05:30", "2027-02-08T08:00:00+05:30"]
        ),
    ]

    @Test(arguments: berlin + newYork + lordHowe + kolkata)
    func firesAsExpected(_ c: Case) throws {
        let fires = try ScheduleFixtures.fires(c.expression, zone: c.zone, after: c.after, count: c.expected.count, gap: c.gap, overlap: c.overlap)
        #expect(fires == c.expected)
    }

    /// `firstFire(notBefore:)` includes its bound; `nextFire(after:)` excludes it.
    @Test func firstFireIncludesTheBoundInsideTheOverlap() throws {
        let cron = try CronExpression("30 1 * * *")
        let zone = try ScheduleFixtures.zone("America/New_York")
        let second = try ScheduleFixtures.date("2027-11-07T01:30:00-05:00")
        let first = try ScheduleFixtures.date("2027-11-07T01:30:00-04:00")
        #expect(cron.firstFire(notBefore: second, in: zone, overlap: .twice) == second)
        #expect(cron.firstFire(notBefore: first, in: zone, overlap: .once) == first)
        #expect(cron.nextFire(after: first, in: zone, overlap: .once) == (try ScheduleFixtures.date("2027-11-08T01:30:00-05:00")))
    }
}

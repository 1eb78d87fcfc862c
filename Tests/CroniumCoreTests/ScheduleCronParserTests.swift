import CroniumCore
import Foundation
import Testing

@Suite("Cron expression parsing")
struct ScheduleCronParserTests {
    struct Valid: CustomTestStringConvertible, Sendable {
        let expression: String
        let after: String
        let expected: [String]
        init(_ expression: String, after: String = "2027-01-01T00:00:00Z", _ expected: [String]) {
            (self.expression, self.after, self.expected) = (expression, after, expected)
        }
        var testDescription: String { expression }
    }

    /// Every syntax the parser accepts, each checked by the fires it produces in UTC.
    /// 2027-01-01 is a Friday; expected dates were read off `cal 2027`.
    static let valid: [Valid] = [
        Valid("*/15 * * * *", ["2027-01-01T00:15:00Z", "2027-01-01T00:30:00Z", "2027-01-01T00:45:00Z"]),
        Valid("5/15 * * * *", ["2027-01-01T00:05:00Z", "2027-01-01T00:20:00Z", "2027-01-01T00:35:00Z"]),
        Valid("10-30/10 8 * * *", ["2027-01-01T08:10:00Z", "2027-01-01T08:20:00Z", "2027-01-01T08:30:00Z", "2027-01-02T08:10:00Z"]),
        Valid("0 9,17 * * *", ["2027-01-01T09:00:00Z", "2027-01-01T17:00:00Z", "2027-01-02T09:00:00Z"]),
        Valid("0 0 1 jan,Jul *", ["2027-07-01T00:00:00Z", "2028-01-01T00:00:00Z", "2028-07-01T00:00:00Z"]),
        Valid("0 12 * * mon-FRI", ["2027-01-01T12:00:00Z", "2027-01-04T12:00:00Z", "2027-01-05T12:00:00Z"]),
        Valid("0 0 * * 7", ["2027-01-03T00:00:00Z", "2027-01-10T00:00:00Z", "2027-01-17T00:00:00Z"]),
        Valid("0 0 * * 5-7", ["2027-01-02T00:00:00Z", "2027-01-03T00:00:00Z", "2027-01-08T00:00:00Z"]),
        Valid("0 0 ? * MON", ["2027-01-04T00:00:00Z", "2027-01-11T00:00:00Z", "2027-01-18T00:00:00Z"]),
        Valid("0 0 13 * ?", ["2027-01-13T00:00:00Z", "2027-02-13T00:00:00Z", "2027-03-13T00:00:00Z"]),
        Valid("0 12 L * *", ["2027-01-31T12:00:00Z", "2027-02-28T12:00:00Z", "2027-03-31T12:00:00Z"]),
        Valid("0 0 L-2 * *", ["2027-01-29T00:00:00Z", "2027-02-26T00:00:00Z", "2027-03-29T00:00:00Z"]),
        Valid("0 0 1,L * *", ["2027-01-31T00:00:00Z", "2027-02-01T00:00:00Z", "2027-02-28T00:00:00Z", "2027-03-01T00:00:00Z"]),
        Valid("0 0 L 2 *", after: "2027-06-01T00:00:00Z", ["2028-02-29T00:00:00Z", "2029-02-28T00:00:00Z"]),
        Valid("0 18 * * 5L", ["2027-01-29T18:00:00Z", "2027-02-26T18:00:00Z", "2027-03-26T18:00:00Z"]),
        Valid("0 8 * * 1#2", ["2027-01-11T08:00:00Z", "2027-02-08T08:00:00Z", "2027-03-08T08:00:00Z"]),
        Valid("0 8 * * fri#1", ["2027-01-01T08:00:00Z", "2027-02-05T08:00:00Z", "2027-03-05T08:00:00Z"]),
        Valid("0 0 * * 5L,1#1", ["2027-01-04T00:00:00Z", "2027-01-29T00:00:00Z", "2027-02-01T00:00:00Z", "2027-02-26T00:00:00Z"]),
        // Vixie OR: both day fields restricted, so "the 13th, and every Friday".
        Valid("0 0 13 * FRI", ["2027-01-08T00:00:00Z", "2027-01-13T00:00:00Z", "2027-01-15T00:00:00Z", "2027-01-22T00:00:00Z"]),
        Valid("0 0 1-7 * 1", ["2027-01-02T00:00:00Z", "2027-01-03T00:00:00Z", "2027-01-04T00:00:00Z", "2027-01-05T00:00:00Z"]),
        // A step is a restriction too (only a bare * or ? is not), so this is also OR.
        Valid(
            "0 0 */10 * 1",
            ["2027-01-04T00:00:00Z", "2027-01-11T00:00:00Z", "2027-01-18T00:00:00Z", "2027-01-21T00:00:00Z", "2027-01-25T00:00:00Z"]
        ),
        Valid("0 0 13 * *", ["2027-01-13T00:00:00Z", "2027-02-13T00:00:00Z", "2027-03-13T00:00:00Z"]),
        Valid("0 0 29 2 *", ["2028-02-29T00:00:00Z", "2032-02-29T00:00:00Z"]),
        Valid("59 23 31 12 *", ["2027-12-31T23:59:00Z", "2028-12-31T23:59:00Z"]),
        Valid("*/20 * * * * *", ["2027-01-01T00:00:20Z", "2027-01-01T00:00:40Z", "2027-01-01T00:01:00Z"]),
        Valid("30 15 10 * * *", ["2027-01-01T10:15:30Z", "2027-01-02T10:15:30Z"]),
        Valid("0,30 0 0 1 * ?", ["2027-01-01T00:00:30Z", "2027-02-01T00:00:00Z", "2027-02-01T00:00:30Z"]),
        Valid("  0 12 * * *  ", ["2027-01-01T12:00:00Z"]),
        Valid("@minutely", ["2027-01-01T00:01:00Z", "2027-01-01T00:02:00Z"]),
        Valid("@hourly", ["2027-01-01T01:00:00Z", "2027-01-01T02:00:00Z"]),
        Valid("@daily", ["2027-01-02T00:00:00Z", "2027-01-03T00:00:00Z"]),
        Valid("@midnight", ["2027-01-02T00:00:00Z", "2027-01-03T00:00:00Z"]),
        Valid("@weekly", ["2027-01-03T00:00:00Z", "2027-01-10T00:00:00Z"]),
        Valid("@monthly", ["2027-02-01T00:00:00Z", "2027-03-01T00:00:00Z"]),
        Valid("@YEARLY", ["2028-01-01T00:00:00Z", "2029-01-01T00:00:00Z"]),
        Valid("@annually", ["2028-01-01T00:00:00Z", "2029-01-01T00:00:00Z"]),
    ]

    @Test(arguments: valid)
    func validExpressionFires(_ c: Valid) throws {
        let fires = try ScheduleFixtures.fires(c.expression, zone: "UTC", after: c.after, count: c.expected.count)
        #expect(fires == c.expected)
    }

    @Test func textIsKeptTrimmedAndDescribesTheExpression() throws {
        let cron = try CronExpression("  */5 * * * *\n")
        #expect(cron.text == "*/5 * * * *")
        #expect(cron.description == "*/5 * * * *")
        #expect(try CronExpression("*/5 * * * *") == cron)
    }

    @Test func sundayAsSevenAndAsZeroAndAsNameAgree() throws {
        let expected = try ScheduleFixtures.fires("0 0 * * 0", zone: "UTC", after: "2027-01-01T00:00:00Z", count: 5)
        for text in ["0 0 * * 7", "0 0 * * SUN", "0 0 * * sun", "0 0 * * 0,7"] {
            #expect(try ScheduleFixtures.fires(text, zone: "UTC", after: "2027-01-01T00:00:00Z", count: 5) == expected)
        }
    }

    struct Invalid: CustomTestStringConvertible, Sendable {
        let expression: String
        let fragment: String
        var testDescription: String { "'\(expression)'" }
    }

    /// Each message must say which cron field is wrong (or what is wrong with the whole text).
    static let invalid: [Invalid] = [
        Invalid(expression: "61 * * * *", fragment: "minute field '61': value 61 is out of range 0-59"),
        Invalid(expression: "* * *", fragment: "expected 5 fields"),
        Invalid(expression: "* * * * * * *", fragment: "got 7"),
        Invalid(expression: "", fragment: "got 0"),
        Invalid(expression: "5-1 * * * *", fragment: "minute field '5-1': range 5-1 runs backwards"),
        Invalid(expression: "*/0 * * * *", fragment: "minute field '*/0': step '0'"),
        Invalid(expression: "*/5/2 * * * *", fragment: "more than one '/'"),
        Invalid(expression: "FOO * * * *", fragment: "minute field 'FOO'"),
        Invalid(expression: "-5 * * * *", fragment: "minute field '-5': a value is missing"),
        Invalid(expression: "1,,2 * * * *", fragment: "minute field '1,,2': empty list item"),
        Invalid(expression: "1-2-3 * * * *", fragment: "minute field '1-2-3'"),
        Invalid(expression: "? * * * *", fragment: "minute field '?': '?' is only allowed"),
        Invalid(expression: "60 * * * * *", fragment: "second field '60'"),
        Invalid(expression: "0 24 * * *", fragment: "hour field '24'"),
        Invalid(expression: "0 0 32 * *", fragment: "day-of-month field '32'"),
        Invalid(expression: "0 0 0 * *", fragment: "day-of-month field '0'"),
        Invalid(expression: "0 0 1#6 * *", fragment: "day-of-month field '1#6'"),
        Invalid(expression: "0 0 LW * *", fragment: "day-of-month field 'LW': 'W'"),
        Invalid(expression: "0 0 L-31 * *", fragment: "day-of-month field 'L-31'"),
        Invalid(expression: "0 0 30 2 *", fragment: "day-of-month field '30': none of these days exists"),
        Invalid(expression: "0 0 31 4,6,9,11 *", fragment: "day-of-month field '31'"),
        Invalid(expression: "0 0 * 13 *", fragment: "month field '13'"),
        Invalid(expression: "0 0 * JANUARY *", fragment: "month field 'JANUARY'"),
        Invalid(expression: "0 0 * * 8", fragment: "day-of-week field '8'"),
        Invalid(expression: "0 0 * * 1#6", fragment: "day-of-week field '1#6': '1#6' must be n#k with k 1-5"),
        Invalid(expression: "0 0 * * 1#0", fragment: "day-of-week field '1#0'"),
        Invalid(expression: "0 0 * * 9#1", fragment: "day-of-week field '9#1'"),
        Invalid(expression: "0 0 * * L", fragment: "day-of-week field 'L'"),
        Invalid(expression: "0 0 * * MON-SUN", fragment: "day-of-week field 'MON-SUN': range MON-SUN runs backwards"),
        Invalid(expression: "0 0 * * FUNDAY", fragment: "day-of-week field 'FUNDAY'"),
        Invalid(expression: "@reboot", fragment: "@reboot is not supported"),
        Invalid(expression: "@fortnightly", fragment: "unknown macro '@fortnightly'"),
    ]

    @Test(arguments: invalid)
    func invalidExpressionNamesTheField(_ c: Invalid) {
        let error = ScheduleFixtures.scheduleError { () throws(ScheduleError) in _ = try CronExpression(c.expression) }
        #expect(error?.field == "schedule.cron")
        #expect(error?.message.contains(c.fragment) == true, "message was: \(error?.message ?? "no error")")
    }

    /// Possible in principle (a February with five Mondays) but not within the five-year search
    /// horizon from 2027 (the next one is 2044), so the search gives up instead of looping.
    @Test func searchGivesUpAfterTheHorizon() throws {
        let cron = try CronExpression("0 0 * 2 1#5")
        #expect(cron.nextFire(after: try ScheduleFixtures.date("2027-01-01T00:00:00Z"), in: .gmt) == nil)
        #expect(
            cron.nextFire(after: try ScheduleFixtures.date("2043-06-01T00:00:00Z"), in: .gmt)
                == (try ScheduleFixtures.date("2044-02-29T00:00:00Z"))
        )
    }
}

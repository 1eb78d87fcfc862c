import CroniumCore
import Foundation
import Testing

@Suite("Schedule validation and JSON form")
struct ScheduleValidationTests {
    struct Invalid: CustomTestStringConvertible, Sendable {
        let name: String
        let schedule: Schedule
        let field: String
        let fragment: String
        var testDescription: String { name }
    }

    static let invalid: [Invalid] = [
        Invalid(
            name: "unknown zone",
            schedule: .cron("* * * * *", timeZone: "Mars/Olympus_Mons"),
            field: "schedule.timeZone",
            fragment: "unknown time zone 'Mars/Olympus_Mons'"
        ),
        Invalid(name: "empty zone", schedule: .interval(seconds: 5).with(\.timeZone, ""), field: "schedule.timeZone", fragment: "unknown time zone"),
        Invalid(name: "bad cron", schedule: .cron("61 * * * *"), field: "schedule.cron", fragment: "minute field '61'"),
        Invalid(name: "missing cron", schedule: Schedule(kind: .cron), field: "schedule.cron", fragment: "is required"),
        Invalid(name: "blank cron", schedule: .cron("   "), field: "schedule.cron", fragment: "is required"),
        Invalid(name: "never-firing cron", schedule: .cron("0 0 31 2 *"), field: "schedule.cron", fragment: "never fire"),
        Invalid(name: "interval zero", schedule: .interval(seconds: 0), field: "schedule.intervalSeconds", fragment: "at least 1 second, got 0"),
        Invalid(name: "interval negative", schedule: .interval(seconds: -5), field: "schedule.intervalSeconds", fragment: "got -5"),
        Invalid(name: "interval missing", schedule: Schedule(kind: .interval), field: "schedule.intervalSeconds", fragment: "is required"),
        Invalid(name: "once without startAt", schedule: Schedule(kind: .once), field: "schedule.startAt", fragment: "is required"),
        Invalid(
            name: "cron on an interval",
            schedule: .interval(seconds: 5).with(\.cron, "* * * * *"),
            field: "schedule.cron",
            fragment: "only applies to kind 'cron'"
        ),
        Invalid(
            name: "interval on a cron",
            schedule: .cron("* * * * *").with(\.intervalSeconds, 5),
            field: "schedule.intervalSeconds",
            fragment: "only applies to kind 'interval'"
        ),
    ]

    @Test(arguments: invalid)
    func invalidScheduleNamesTheField(_ c: Invalid) {
        let error = ScheduleFixtures.scheduleError { () throws(ScheduleError) in try c.schedule.validate() }
        #expect(error?.field == c.field)
        #expect(error?.message.contains(c.fragment) == true, "message was: \(error?.message ?? "no error")")
        // Every computation reports the same problem instead of guessing.
        let viaFire = ScheduleFixtures.scheduleError { () throws(ScheduleError) in _ = try c.schedule.firstFire(notBefore: Date()) }
        #expect(viaFire == error)
    }

    @Test(arguments: [
        Schedule.interval(seconds: 1),
        Schedule.cron("*/5 * * * *", timeZone: "Asia/Kolkata"),
        Schedule.cron("@daily", timeZone: "Australia/Lord_Howe", dstGap: .skip, dstOverlap: .twice),
        Schedule.once(at: Date(timeIntervalSince1970: 1_800_000_000)),
    ])
    func validSchedulesPass(_ schedule: Schedule) throws {
        #expect(ScheduleFixtures.scheduleError { () throws(ScheduleError) in try schedule.validate() } == nil)
        // And every computation works: each has a first fire, not before the instant asked for.
        let from = Date(timeIntervalSince1970: 1_700_000_000)
        let first = try #require(try schedule.firstFire(notBefore: from))
        #expect(first >= from)
    }

    @Test func factoriesUseTheDocumentedDefaults() {
        let schedule = Schedule.cron("* * * * *")
        #expect(schedule.timeZone == "UTC")
        #expect(schedule.dstGap == .shift)
        #expect(schedule.dstOverlap == .once)
        #expect(schedule.misfire == .last)
        #expect(schedule.overlap == .skip)
        #expect(Schedule.interval(seconds: 5).intervalSeconds == 5)
    }

    @Test func minimalJSONDecodesWithDefaults() throws {
        let json = Data(#"{"kind":"cron","cron":"*/5 * * * *"}"#.utf8)
        let schedule = try JSONDecoder().decode(Schedule.self, from: json)
        #expect(schedule == .cron("*/5 * * * *"))
    }

    @Test func encodingWritesEveryFieldWithAValue() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let text = String(decoding: try encoder.encode(Schedule.cron("*/5 * * * *")), as: UTF8.self)
        #expect(
            text == #"{"cron":"*\/5 * * * *","dstGap":"shift","dstOverlap":"once","kind":"cron","misfire":"last","overlap":"skip","timeZone":"UTC"}"#
        )
    }

    @Test(arguments: [
        Schedule.interval(seconds: 90, startAt: Date(timeIntervalSince1970: 1_800_000_000), misfire: .all, overlap: .queue),
        Schedule.cron("0 9 * * MON-FRI", timeZone: "America/New_York", dstGap: .skip, dstOverlap: .twice, misfire: .none, overlap: .replace),
        Schedule.once(at: Date(timeIntervalSince1970: 1_800_000_000), overlap: .allow),
    ])
    func roundTripsThroughJSON(_ schedule: Schedule) throws {
        let data = try JSONEncoder().encode(schedule)
        #expect(try JSONDecoder().decode(Schedule.self, from: data) == schedule)
    }

    @Test func unknownPolicyValueIsADecodingError() {
        let json = Data(#"{"kind":"cron","cron":"* * * * *","dstGap":"later"}"#.utf8)
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(Schedule.self, from: json) }
    }

    @Test func errorDescriptionNamesFieldAndProblem() {
        let error = ScheduleError(field: "schedule.timeZone", message: "unknown time zone 'X'")
        #expect(error.description == "schedule.timeZone: unknown time zone 'X'")
    }
}

extension Schedule {
    /// A copy with one field changed, to build invalid schedules the factories would not make.
    fileprivate func with<Value>(_ keyPath: WritableKeyPath<Schedule, Value>, _ value: Value) -> Schedule {
        var copy = self
        copy[keyPath: keyPath] = value
        return copy
    }
}

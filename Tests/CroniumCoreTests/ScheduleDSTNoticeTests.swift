import CroniumCore
import Foundation
import Testing

/// The clock changes a schedule builder warns about, from the transitions listed in
/// `ScheduleDSTTests` (zdump): each one named with its day, the wall times it touches and what the
/// schedule's policy then does.
@Suite struct ScheduleDSTNoticeTests {
    static let now = Date(timeIntervalSince1970: 1_796_601_600)  // 2026-12-07T00:00:00Z

    @Test func aDailyJobInTheGapAndTheOverlapIsWarnedOfBoth() throws {
        let notices = try Schedule.cron("30 2 * * *", timeZone: "Europe/Berlin").dstNotices(after: Self.now)
        #expect(notices.map(\.kind) == [.gap, .overlap])
        #expect(notices.map(\.at) == [try date("2027-03-28T01:00:00Z"), try date("2027-10-31T01:00:00Z")])
        #expect(notices.map(\.wallTimes) == [["02:30"], ["02:30"]])
        #expect(notices[0].message.contains("02:30 does not exist") && notices[0].message.contains("fires 1 h later instead, at 03:30."))
        #expect(notices[1].message.contains("go back from 03:00 to 02:00") && notices[1].message.contains("first only"))
    }

    @Test func thePoliciesChangeWhatIsSaid() throws {
        let notices = try Schedule.cron("*/20 2 * * *", timeZone: "Europe/Berlin", dstGap: .skip, dstOverlap: .twice).dstNotices(after: Self.now)
        #expect(notices.first?.message.contains("02:00, 02:20, 02:40 do not exist") == true)
        #expect(notices.first?.message.contains("does not fire then") == true)
        #expect(notices.last?.message.contains("happen twice") == true && notices.last?.message.contains("at both") == true)
    }

    @Test func manyWallTimesAreCountedAndTheFirstTenListed() throws {
        let notices = try Schedule.cron("* * 1,2 * * *", timeZone: "America/New_York").dstNotices(after: Self.now)
        #expect(notices.map(\.at) == [try date("2027-03-14T07:00:00Z"), try date("2027-11-07T06:00:00Z")])
        #expect(notices.allSatisfy { $0.wallTimes.count == 10 && $0.message.contains("(3600 times)") })
        #expect(notices[0].wallTimes.first == "02:00" && notices[1].wallTimes.first == "01:00")
    }

    @Test func aHalfHourShiftIsSaidInMinutes() throws {
        // Lord Howe springs from 02:00 to 02:30 on 2027-10-03; 02:15 is in the gap, not in April's
        // repeated 01:30-02:00.
        let notices = try Schedule.cron("15 2 * * *", timeZone: "Australia/Lord_Howe").dstNotices(after: Self.now)
        #expect(notices.map(\.kind) == [.gap])
        #expect(notices.first?.at == (try date("2027-10-02T15:30:00Z")))
        #expect(notices.first?.message.contains("jump from 02:00 to 02:30: 02:15 does not exist") == true)
        #expect(notices.first?.message.contains("fires 30 min later") == true)
    }

    @Test func aShiftOntoItsOwnTimeIsOneFire() throws {
        let notices = try Schedule.cron("0 2,3 * * *", timeZone: "Europe/Berlin").dstNotices(after: Self.now)
        #expect(notices.first?.message.contains("at 03:00, which is one of its own times: the two are one fire that day") == true)
    }

    /// `*/5 * * * *` and the like keep their rhythm in real time: no change of the clocks touches them.
    @Test func rhythmsHaveNone() throws {
        for cron in ["*/5 * * * *", "0 * * * *", "* * * * * *", "15 */2 * * *"] {
            #expect(try Schedule.cron(cron, timeZone: "Europe/Berlin").dstNotices(after: Self.now).isEmpty, "\(cron)")
        }
    }

    @Test func schedulesWithoutWallTimesOrChangesHaveNone() throws {
        #expect(try Schedule.cron("30 2 * * *", timeZone: "UTC").dstNotices(after: Self.now).isEmpty)
        #expect(try Schedule.cron("30 2 * * *", timeZone: "Asia/Kolkata").dstNotices(after: Self.now).isEmpty)
        #expect(try Schedule.cron("0 9 * * *", timeZone: "Europe/Berlin").dstNotices(after: Self.now).isEmpty)
        #expect(try Schedule.interval(seconds: 60).dstNotices(after: Self.now).isEmpty)
    }

    @Test func thePreviewGivesFireTimesAndNamesAProblemsField() throws {
        let preview = try Schedule.cron("30 2 * * *", timeZone: "Europe/Berlin").preview(from: Self.now, count: 3)
        #expect(preview.times == [try date("2026-12-07T01:30:00Z"), try date("2026-12-08T01:30:00Z"), try date("2026-12-09T01:30:00Z")])
        #expect(preview.dst.count == 2)
        #expect(throws: ValidationError([.init(field: "schedule.cron", message: "minute field '61': value 61 is out of range 0-59")])) {
            try Schedule.cron("61 * * * *").preview(from: Self.now, count: 3)
        }
    }

    func date(_ text: String) throws -> Date { try #require(ISO8601DateFormatter().date(from: text)) }
}

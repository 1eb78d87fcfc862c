import CroniumCore
import Foundation
import Testing

@Suite("Schedule fire times: interval, once, cron, occurrences")
struct ScheduleFireTests {
    private let now: Date
    init() throws { now = try ScheduleFixtures.date("2027-06-01T12:00:00Z") }

    @Test func intervalFirstFireIsOneIntervalFromNow() throws {
        let fire = try Schedule.interval(seconds: 300).firstFire(notBefore: now)
        #expect(fire == now.addingTimeInterval(300))
    }

    @Test func intervalStartAtDelaysTheFirstFire() throws {
        let startAt = now.addingTimeInterval(3_600)
        #expect(try Schedule.interval(seconds: 300, startAt: startAt).firstFire(notBefore: now) == startAt)
        #expect(try Schedule.interval(seconds: 300, startAt: now).firstFire(notBefore: now) == now)
        // A start time already past no longer delays anything.
        let past = now.addingTimeInterval(-10)
        #expect(try Schedule.interval(seconds: 300, startAt: past).firstFire(notBefore: now) == now.addingTimeInterval(300))
    }

    @Test func intervalCountsFromThePreviousFireNotTheClock() throws {
        let schedule = Schedule.interval(seconds: 90)
        let lateFire = try ScheduleFixtures.date("2027-06-01T12:00:07Z")
        #expect(try schedule.nextFire(after: lateFire) == (try ScheduleFixtures.date("2027-06-01T12:01:37Z")))
    }

    @Test func intervalIsAnAbsoluteDurationAcrossDST() throws {
        var schedule = Schedule.interval(seconds: 3_600)
        schedule.timeZone = "Europe/Berlin"
        let previous = try ScheduleFixtures.date("2027-03-28T01:30:00+01:00")
        let next = try #require(try schedule.nextFire(after: previous))
        #expect(formatISO8601(next, timeZone: try ScheduleFixtures.zone("Europe/Berlin")) == "2027-03-28T03:30:00+02:00")
    }

    @Test func onceFiresAtStartAtEvenInThePastThenNever() throws {
        let at = now.addingTimeInterval(-3_600)
        let schedule = Schedule.once(at: at)
        #expect(try schedule.firstFire(notBefore: now) == at)
        #expect(try schedule.nextFire(after: at) == nil)
    }

    @Test func cronFirstFireIncludesNowAndRespectsStartAt() throws {
        let schedule = Schedule.cron("0 12 * * *")
        #expect(try schedule.firstFire(notBefore: now) == now)
        let startAt = try ScheduleFixtures.date("2027-06-03T08:00:00Z")
        let delayed = Schedule.cron("0 12 * * *", startAt: startAt)
        #expect(try delayed.firstFire(notBefore: now) == (try ScheduleFixtures.date("2027-06-03T12:00:00Z")))
        #expect(try delayed.nextFire(after: now) == (try ScheduleFixtures.date("2027-06-03T12:00:00Z")))
    }

    @Test func cronNextFireIsStrictlyAfterAFractionalPrevious() throws {
        let schedule = Schedule.cron("* * * * * *")
        let previous = now.addingTimeInterval(0.25)
        #expect(try schedule.nextFire(after: previous) == now.addingTimeInterval(1))
        #expect(try schedule.firstFire(notBefore: previous) == now.addingTimeInterval(1))
    }

    @Test func cronUsesTheSchedulesZoneAndPolicies() throws {
        let schedule = Schedule.cron("30 2 * * *", timeZone: "Europe/Berlin", dstGap: .skip)
        let fires = try SchedulePlan(schedule).occurrences(
            after: try ScheduleFixtures.date("2027-03-27T12:00:00+01:00"),
            through: try ScheduleFixtures.date("2027-03-30T00:00:00+02:00"),
            limit: 10
        )
        #expect(fires == [try ScheduleFixtures.date("2027-03-29T02:30:00+02:00")])
    }

    @Test func cronThatNeverFiresWithinTheHorizonGivesNil() throws {
        #expect(try Schedule.cron("0 0 * 2 1#5").firstFire(notBefore: now) == nil)
    }

    @Test func occurrencesAreBoundedByTheWindowAndTheLimit() throws {
        let schedule = Schedule.cron("0 * * * *")
        let through = now.addingTimeInterval(10 * 3_600)
        let all = try SchedulePlan(schedule).occurrences(after: now, through: through, limit: 100)
        #expect(all.count == 10)
        #expect(all.first == now.addingTimeInterval(3_600))
        #expect(all.last == through)  // the window includes its end ...
        #expect(!all.contains(now))  // ... but not its start
        #expect(try SchedulePlan(schedule).occurrences(after: now, through: through, limit: 3) == Array(all.prefix(3)))
        #expect(try SchedulePlan(schedule).occurrences(after: now, through: through, limit: 0).isEmpty)
        #expect(try SchedulePlan(schedule).occurrences(after: through, through: now, limit: 5).isEmpty)
    }

    @Test func intervalOccurrencesCountFromTheLastFire() throws {
        let schedule = Schedule.interval(seconds: 600)
        let fires = try SchedulePlan(schedule).occurrences(after: now, through: now.addingTimeInterval(1_800), limit: 10)
        #expect(fires == [600, 1_200, 1_800].map { now.addingTimeInterval($0) })
    }

    @Test func intervalOccurrencesStartAtALaterStartAt() throws {
        let schedule = Schedule.interval(seconds: 600, startAt: now.addingTimeInterval(100))
        let fires = try SchedulePlan(schedule).occurrences(after: now, through: now.addingTimeInterval(1_800), limit: 10)
        #expect(fires == [100, 700, 1_300].map { now.addingTimeInterval($0) })
    }

    @Test(arguments: [(-1.0, true), (0.0, false), (1.0, false), (-3_600.0, true)])
    func onceOccursOnlyInsideTheWindow(offset: TimeInterval, inside: Bool) throws {
        let at = now.addingTimeInterval(offset)
        let fires = try SchedulePlan(Schedule.once(at: at)).occurrences(
            after: now.addingTimeInterval(-7_200),
            through: now.addingTimeInterval(-0.5),
            limit: 5
        )
        #expect(fires == (inside ? [at] : []))
    }

    /// Successive fires of a busy expression in a DST zone are strictly increasing and, across a
    /// whole year, one per minute except the Berlin spring gap (60 minutes fewer) and the fall
    /// overlap (60 more, because hour `*` follows real time).
    @Test func everyMinuteForAYearCountsRealMinutes() throws {
        let schedule = Schedule.cron("* * * * *", timeZone: "Europe/Berlin")
        let start = try ScheduleFixtures.date("2027-01-01T00:00:00+01:00")
        let end = try ScheduleFixtures.date("2028-01-01T00:00:00+01:00")
        let fires = try SchedulePlan(schedule).occurrences(after: start, through: end, limit: 1_000_000)
        #expect(fires.count == 365 * 24 * 60)
        #expect(zip(fires, fires.dropFirst()).allSatisfy { $1.timeIntervalSince($0) == 60 })
    }
}

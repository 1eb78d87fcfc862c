import CroniumCore
import Foundation
import Testing

/// Sanity checks that the search jumps by fields instead of scanning seconds. No timing
/// assertions (they flake on loaded CI machines); a second-by-second search would make these
/// take minutes, which the test runner's output makes obvious.
@Suite("Schedule search efficiency")
struct SchedulePerformanceTests {
    @Test(arguments: ["UTC", "Europe/Berlin"])
    func tenThousandSuccessiveSecondFires(zone: String) throws {
        let cron = try CronExpression("* * * * * *")
        let tz = try ScheduleFixtures.zone(zone)
        let start = try ScheduleFixtures.date("2027-03-28T00:00:00Z")
        var previous = start
        for _ in 0..<10_000 {
            previous = try #require(cron.nextFire(after: previous, in: tz))
        }
        #expect(previous == start.addingTimeInterval(10_000))
    }

    @Test func rareExpressionsJumpAcrossYears() throws {
        let cron = try CronExpression("0 0 0 29 2 *")
        var previous = try ScheduleFixtures.date("2000-01-01T00:00:00Z")
        var leapDays = 0
        while let next = cron.nextFire(after: previous, in: .gmt), next < (try ScheduleFixtures.date("2100-01-01T00:00:00Z")) {
            leapDays += 1
            previous = next
        }
        #expect(leapDays == 25)  // 2000, 2004, ..., 2096
    }
}

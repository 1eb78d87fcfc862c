import CroniumCore
import Foundation
import Testing

/// Epochs and expected strings were cross-checked with `TZ=... date -d @EPOCH -Iseconds`.
@Suite("ISO-8601 formatting")
struct ScheduleISO8601Tests {
    @Test(arguments: [
        (0.0, "UTC", "1970-01-01T00:00:00Z"),
        (-1.0, "UTC", "1969-12-31T23:59:59Z"),
        (1_806_195_600.0, "Etc/UTC", "2027-03-28T01:00:00Z"),
        (1_806_195_600.0, "GMT", "2027-03-28T01:00:00Z"),
        (1_806_195_599.0, "Europe/Berlin", "2027-03-28T01:59:59+01:00"),
        (1_806_195_600.0, "Europe/Berlin", "2027-03-28T03:00:00+02:00"),
        (1_806_195_600.0, "Australia/Lord_Howe", "2027-03-28T12:00:00+11:00"),
        (1_806_195_600.0, "America/New_York", "2027-03-27T21:00:00-04:00"),
        (1_806_195_600.0, "Asia/Kolkata", "2027-03-28T06:30:00+05:30"),
        (1_806_195_600.9, "Asia/Kolkata", "2027-03-28T06:30:00+05:30"),
        (1_800_000_000.0, "Europe/London", "2027-01-15T08:00:00+00:00"),
        (951_782_400.0, "UTC", "2000-02-29T00:00:00Z"),
    ])
    func formats(epoch: TimeInterval, zone: String, expected: String) throws {
        let text = formatISO8601(Date(timeIntervalSince1970: epoch), timeZone: try ScheduleFixtures.zone(zone))
        #expect(text == expected)
    }

    @Test func roundTripsThroughFoundationsParser() throws {
        let zone = try ScheduleFixtures.zone("Australia/Lord_Howe")
        for epoch in stride(from: 1_806_000_000.0, to: 1_830_000_000.0, by: 86_399 * 7) {
            let date = Date(timeIntervalSince1970: epoch)
            #expect(try ScheduleFixtures.date(formatISO8601(date, timeZone: zone)) == date)
        }
    }
}

import ArgumentParser
import CroniumCore
import Foundation

struct ScheduleCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "schedule",
        abstract: "Work with schedule expressions (no server needed).",
        subcommands: [Next.self]
    )

    struct Next: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "next",
            abstract: "Print the next fire times of a cron expression, one ISO-8601 time per line.",
            discussion: "Example: cronium schedule next \"30 2 * * *\" --tz Europe/Berlin --from 2027-03-28T00:00:00Z --count 3"
        )
        @Argument(help: "Cron expression: 5 fields, 6 with seconds first, or @hourly etc.") var expression: String
        @Option(help: "IANA time zone.") var tz = "UTC"
        @Option(help: "Start after this ISO-8601 time (default: now).") var from: String?
        @Option(help: "How many times to print.") var count = 10
        @Option(help: "Spring-forward gap policy: shift or skip.") var dstGap = "shift"
        @Option(help: "Fall-back overlap policy: once or twice.") var dstOverlap = "once"

        func run() async throws {
            guard (1...10_000).contains(count) else { throw ValidationError("--count must be between 1 and 10000") }
            let schedule = Schedule.cron(
                expression,
                timeZone: tz,
                dstGap: try EventOptions.policy(dstGap, option: "--dst-gap"),
                dstOverlap: try EventOptions.policy(dstOverlap, option: "--dst-overlap")
            )
            do {
                try schedule.validate()
            } catch {
                throw ValidationError("\(error.field): \(error.message)")
            }
            guard let zone = TimeZone(identifier: tz) else { throw ValidationError("--tz: unknown time zone '\(tz)'") }
            var next = try schedule.firstFire(notBefore: try from.map { try parseDate($0, option: "--from") + 0.001 } ?? Date())
            for _ in 0..<count {
                guard let fire = next else { break }
                print(formatISO8601(fire, timeZone: zone))
                next = try schedule.nextFire(after: fire)
            }
        }
    }
}

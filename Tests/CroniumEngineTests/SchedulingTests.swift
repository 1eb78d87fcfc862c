import CroniumCore
import CroniumEngine
import CroniumStore
import CroniumTesting
import Foundation
import Testing

/// Schedules driven by a manual clock: the engine, store and processes are real; only time is stepped.
@Suite struct SchedulingTests {
    static let t0 = Date(timeIntervalSince1970: 1_900_000_000)

    /// The ledger oldest first, as (seconds after t0, outcome).
    func ledger(_ harness: EngineHarness, _ eventId: EventID) async throws -> [(Int, OccurrenceOutcome)] {
        try await harness.store.ledger(eventId: eventId).reversed().map { (Int($0.scheduledFor.timeIntervalSince(Self.t0)), $0.outcome) }
    }

    func waitForLedger(_ harness: EngineHarness, _ eventId: EventID, count: Int) async throws -> [(Int, OccurrenceOutcome)] {
        var rows: [(Int, OccurrenceOutcome)] = []
        _ = try await eventually {
            rows = try await ledger(harness, eventId)
            return rows.count >= count
        }
        return rows
    }

    /// Waits until every run of the event has ended, so the next fire does not overlap it.
    func allRunsEnded(_ harness: EngineHarness, _ eventId: EventID, count: Int) async throws {
        // Long enough for a suite that runs containers beside (the load reached 8 on 2 cores).
        #expect(
            try await eventually(timeout: .seconds(30)) {
                let executions = try await harness.store.executions(eventId: eventId)
                return executions.count == count && executions.allSatisfy(\.status.isFinal)
            }
        )
    }

    func scheduledEvent(_ harness: EngineHarness, script: String = "true", schedule: Schedule) async throws -> Event {
        let event = try await harness.createEvent {
            $0.content = script
            $0.status = .active
            $0.triggerType = .schedule
            $0.schedule = schedule
        }
        // The scheduler plans from the time it learns of the event; the clock must not move before.
        #expect(try await eventually { harness.engine.scheduler.isSettled && harness.engine.scheduler.nextFire(of: .event(event.id)) != nil })
        return event
    }

    @Test func intervalFiresEveryPeriodSinceThePreviousFire() async throws {
        let clock = ManualClock(now: Self.t0)
        try await withEngine(clock: clock) { harness in
            let event = try await scheduledEvent(harness, schedule: .interval(seconds: 10))
            #expect(try await eventually { harness.engine.scheduler.nextFire(of: .event(event.id)) != nil })
            #expect(harness.engine.scheduler.nextFire(of: .event(event.id)) == Self.t0 + 10)
            clock.advance(to: Self.t0 + 10)
            _ = try await waitForLedger(harness, event.id, count: 1)
            try await allRunsEnded(harness, event.id, count: 1)
            #expect(harness.engine.scheduler.nextFire(of: .event(event.id)) == Self.t0 + 20)
            clock.advance(to: Self.t0 + 20)
            let rows = try await waitForLedger(harness, event.id, count: 2)
            #expect(rows.map(\.0) == [10, 20])
            #expect(rows.map(\.1) == [.ran, .ran])
            let executions = try await harness.store.executions(eventId: event.id)
            #expect(executions.count == 2)
            #expect(executions.allSatisfy { $0.trigger == .schedule })
            #expect(Set(executions.compactMap(\.scheduledFor)) == [Self.t0 + 10, Self.t0 + 20])
        }
    }

    @Test(arguments: [OverlapPolicy.skip, .queue, .replace, .allow])
    func overlapPolicyDecidesWhatHappensWhileARunIsGoing(policy: OverlapPolicy) async throws {
        let clock = ManualClock(now: Self.t0)
        try await withEngine(clock: clock) { harness in
            // The first run must still be going when the second occurrence comes and while the test
            // looks, however loaded the machine: 1.5 s has been too short under the whole suite for
            // every policy. A replaced run is stopped, so it may be long.
            let script = policy == .replace ? "sleep 60" : "sleep 6"
            let event = try await scheduledEvent(harness, script: script, schedule: .interval(seconds: 10, overlap: policy))
            #expect(try await eventually { harness.engine.scheduler.nextFire(of: .event(event.id)) != nil })
            clock.advance(to: Self.t0 + 10)
            #expect(try await eventually { try await harness.store.executions(eventId: event.id).first?.status == .running })
            clock.advance(to: Self.t0 + 20)
            let rows = try await waitForLedger(harness, event.id, count: 2)
            let expected: [OverlapPolicy: OccurrenceOutcome] = [.skip: .skipped, .queue: .queued, .replace: .replaced, .allow: .ran]
            #expect(rows.map(\.1) == [.ran, expected[policy]!])
            // Observed while the first run is still going.
            let during = try await harness.store.executions(eventId: event.id).reversed().map(\.status)
            switch policy {
            case .skip: #expect(during == [.running])
            case .queue: #expect(during == [.running, .pending])
            case .replace: #expect(during.count == 2)
            case .allow:
                #expect(try await eventually { try await harness.store.executions(eventId: event.id).filter { $0.status == .running }.count == 2 })
            }
            var executions: [Execution] = []
            _ = try await eventually(timeout: .seconds(60)) {
                executions = try await harness.store.executions(eventId: event.id).reversed()
                // The replacement runs the same `sleep 60`: only the replaced run is waited for.
                return policy == .replace ? executions.first?.status.isFinal == true : executions.allSatisfy { $0.status.isFinal }
            }
            switch policy {
            case .skip:
                #expect(executions.map(\.status) == [.success])
            case .queue:
                // The held run starts only after the first has ended.
                #expect(executions.map(\.status) == [.success, .success])
            case .replace:
                #expect(executions.map(\.status) == [.cancelled, .running])
                #expect(executions[0].error?.contains("replaced") == true)
            case .allow:
                #expect(executions.map(\.status) == [.success, .success])
            }
        }
    }

    @Test(arguments: [MisfirePolicy.none, .last, .all])
    func restartAfterDowntimeWritesExactlyTheExpectedLedger(policy: MisfirePolicy) async throws {
        let directory = try TemporaryDirectory("restart")
        defer { directory.remove() }
        let event = try await withEngine(clock: ManualClock(now: Self.t0), directory: directory) { first in
            let clock1 = first.clock as! ManualClock
            let event = try await scheduledEvent(first, schedule: .interval(seconds: 10, misfire: policy))
            #expect(try await eventually { first.engine.scheduler.nextFire(of: .event(event.id)) != nil })
            clock1.advance(to: Self.t0 + 10)
            _ = try await waitForLedger(first, event.id, count: 1)
            try await allRunsEnded(first, event.id, count: 1)
            clock1.advance(to: Self.t0 + 25)
            _ = try await waitForLedger(first, event.id, count: 2)
            try await allRunsEnded(first, event.id, count: 2)
            return event
        }

        // Down from t0+25 to t0+98: occurrences 30 … 90 fell due meanwhile, all later than the threshold.
        try await withEngine(clock: ManualClock(now: Self.t0 + 98), directory: directory) { second in
            let rows = try await waitForLedger(second, event.id, count: 9)
            #expect(rows.map(\.0) == [10, 20, 30, 40, 50, 60, 70, 80, 90])
            let afterRestart = rows.dropFirst(2).map(\.1)
            switch policy {
            case .none: #expect(afterRestart == Array(repeating: .missed, count: 7))
            case .last: #expect(afterRestart == Array(repeating: .missed, count: 6) + [.caughtUp])
            case .all: #expect(afterRestart == Array(repeating: .caughtUp, count: 7))
            }
            // The timetable moves on right after the pass is recorded.
            #expect(try await eventually { second.engine.scheduler.nextFire(of: .event(event.id)) == Self.t0 + 100 })
            let expectedRuns = [MisfirePolicy.none: 2, .last: 3, .all: 9][policy]!
            #expect(try await eventually { try await second.store.executions(eventId: event.id).count == expectedRuns })
        }
    }

    /// A long outage of a per-minute schedule: the policy still acts once, and the ledger
    /// stays bounded (the oldest occurrences share one row that counts them).
    @Test func longDowntimeCatchesUpOnceWithABoundedLedger() async throws {
        let directory = try TemporaryDirectory("downtime")
        defer { directory.remove() }
        let event = try await withEngine(clock: ManualClock(now: Self.t0), directory: directory) { first in
            let event = try await scheduledEvent(first, schedule: .interval(seconds: 60, misfire: .last))
            #expect(try await eventually { first.engine.scheduler.nextFire(of: .event(event.id)) != nil })
            return event
        }

        try await withEngine(clock: ManualClock(now: Self.t0 + 120_030), directory: directory) { second in
            var rows: [ScheduleOccurrence] = []
            #expect(
                try await eventually(timeout: .seconds(20)) {
                    rows = try await second.store.ledger(eventId: event.id, limit: 5_000)
                    return rows.count >= Scheduler.ledgerRowsPerCatchUp + 1
                }
            )
            #expect(rows.count == Scheduler.ledgerRowsPerCatchUp + 1)
            #expect(rows.filter { $0.outcome == .caughtUp }.map(\.scheduledFor) == [Self.t0 + 120_000])
            let summary = try #require(rows.last)
            #expect(try await second.store.ledger(eventId: event.id, limit: 1, offset: Scheduler.ledgerRowsPerCatchUp).map(\.id) == [summary.id])
            #expect(summary.scheduledFor == Self.t0 + 60 && summary.outcome == .missed)
            #expect(summary.reason?.contains("this and 999 more occurrences") == true)
            #expect(try await eventually { try await second.store.executions(eventId: event.id).count == 1 })
        }
    }

    /// Occurrences that fell due while the server was down but are less than the misfire
    /// threshold late are still misfires: the misfire policy decides, not the overlap policy
    /// (no run was going when they fell due).
    @Test(arguments: [MisfirePolicy.none, .last, .all])
    func aShortRestartLeavesDecisionsToTheMisfirePolicy(policy: MisfirePolicy) async throws {
        let directory = try TemporaryDirectory("short-restart")
        defer { directory.remove() }
        let event = try await withEngine(clock: ManualClock(now: Self.t0), directory: directory) { first in
            let event = try await scheduledEvent(first, schedule: .interval(seconds: 2, misfire: policy))
            return event
        }

        // Down from t0 to t0+7: occurrences 2, 4 and 6 fell due, none more than 5 s late.
        try await withEngine(clock: ManualClock(now: Self.t0 + 7), directory: directory) { second in
            let rows = try await waitForLedger(second, event.id, count: 3)
            #expect(rows.map(\.0) == [2, 4, 6])
            switch policy {
            case .none, .last: #expect(rows.map(\.1) == [.missed, .missed, .ran])
            case .all: #expect(rows.map(\.1) == [.caughtUp, .caughtUp, .queued])
            }
            let reasons = try await second.store.ledger(eventId: event.id).compactMap(\.reason)
            #expect(!reasons.contains { $0.contains("overlap policy") })
            try await allRunsEnded(second, event.id, count: policy == .all ? 3 : 1)
        }
    }

    /// A year of downtime of per-second schedules: the catch-up skips the 31 million missed
    /// occurrences by arithmetic (interval) or a backward search (cron) instead of walking them
    /// (which would take minutes).
    @Test(arguments: [Schedule.interval(seconds: 1, misfire: .last), .cron("* * * * * *", misfire: .last)])
    func aYearOfDowntimeRecoversAtOnce(schedule: Schedule) async throws {
        let directory = try TemporaryDirectory("year")
        defer { directory.remove() }
        let event = try await withEngine(clock: ManualClock(now: Self.t0), directory: directory) { first in
            let event = try await scheduledEvent(first, schedule: schedule)
            // A cron schedule fires at once (its first match is now); an interval one a second later.
            #expect(try await eventually { first.engine.scheduler.nextFire(of: .event(event.id)) == Self.t0 + 1 })
            return event
        }

        let year: TimeInterval = 365 * 86_400
        let started = ContinuousClock.now
        try await withEngine(clock: ManualClock(now: Self.t0 + year), directory: directory) { second in
            var rows: [ScheduleOccurrence] = []
            #expect(
                try await eventually(timeout: .seconds(30)) {
                    rows = try await second.store.ledger(eventId: event.id, limit: 2_000).filter { $0.recordedAt == Self.t0 + year }
                    return rows.count == Scheduler.ledgerRowsPerCatchUp + 1
                }
            )
            // Walking them takes minutes; a loaded machine (the suite, a build beside it) took 5.4 s.
            #expect(ContinuousClock.now - started < .seconds(20), "the catch-up walked the missed occurrences")
            #expect(rows.first?.scheduledFor == Self.t0 + year && rows.first?.outcome == .ran)
            let summary = try #require(rows.last)
            #expect(summary.scheduledFor == Self.t0 + 1 && summary.outcome == .missed)
            if schedule.kind == .interval {
                let missedBeforeTheList = Int(year) - Scheduler.ledgerRowsPerCatchUp
                #expect(summary.reason?.hasPrefix("this and \(missedBeforeTheList - 1) more occurrences before") == true, "\(summary.reason ?? "")")
            } else {
                #expect(summary.reason?.hasPrefix("this and every occurrence before") == true, "\(summary.reason ?? "")")
            }
            // The timetable moves once the fire's transaction has returned, a moment after its
            // rows can be read.
            #expect(try await eventually { second.engine.scheduler.nextFire(of: .event(event.id)) == Self.t0 + year + 1 })
        }
    }

    /// A one-shot fires once: not again after a restart, an edit, or pausing and re-activating it.
    @Test func aOneShotThatFiredStaysFired() async throws {
        let directory = try TemporaryDirectory("once")
        defer { directory.remove() }
        var event = try await withEngine(clock: ManualClock(now: Self.t0), directory: directory) { first in
            let clock = first.clock as! ManualClock
            let event = try await scheduledEvent(first, schedule: .once(at: Self.t0 + 10))
            #expect(try await eventually { first.engine.scheduler.nextFire(of: .event(event.id)) == Self.t0 + 10 })
            clock.advance(to: Self.t0 + 10)
            _ = try await waitForLedger(first, event.id, count: 1)
            try await allRunsEnded(first, event.id, count: 1)
            #expect(try await eventually { first.engine.scheduler.nextFire(of: .event(event.id)) == nil })
            return event
        }

        try await withEngine(clock: ManualClock(now: Self.t0 + 60), directory: directory) { second in
            var edit = EventInput()
            edit.description = "edited"
            event = try await second.engine.updateEvent(id: event.id, with: edit, by: second.owner)
            for status in [EventStatus.paused, .active] {
                edit.status = status
                event = try await second.engine.updateEvent(id: event.id, with: edit, by: second.owner)
            }
            #expect(try await eventually { second.engine.scheduler.isSettled })
            try await Self.onePassMore(of: second.engine.scheduler)
            #expect(second.engine.scheduler.nextFire(of: .event(event.id)) == nil)
            #expect(try await ledger(second, event.id).map(\.0) == [10])
            #expect(try await second.store.executions(eventId: event.id).count == 1)
        }
    }

    @Test func cronScheduleFollowsItsTimeZone() async throws {
        // 2030-03-31 is Europe/Berlin's spring-forward day; 02:30 does not exist and shifts to 03:30 CEST.
        let start = try Date("2030-03-30T12:00:00Z", strategy: .iso8601)
        let clock = ManualClock(now: start)
        try await withEngine(clock: clock) { harness in
            let event = try await scheduledEvent(harness, schedule: .cron("30 2 * * *", timeZone: "Europe/Berlin"))
            #expect(try await eventually { harness.engine.scheduler.nextFire(of: .event(event.id)) != nil })
            let next = try #require(harness.engine.scheduler.nextFire(of: .event(event.id)))
            #expect(formatISO8601(next, timeZone: TimeZone(identifier: "Europe/Berlin")!) == "2030-03-31T03:30:00+02:00")
        }
    }

    @Test func pausingAnEventStopsItsSchedule() async throws {
        let clock = ManualClock(now: Self.t0)
        try await withEngine(clock: clock) { harness in
            let event = try await scheduledEvent(harness, schedule: .interval(seconds: 10))
            #expect(try await eventually { harness.engine.scheduler.nextFire(of: .event(event.id)) != nil })
            var pause = EventInput()
            pause.status = .paused
            _ = try await harness.engine.updateEvent(id: event.id, with: pause, by: harness.owner)
            #expect(try await eventually { harness.engine.scheduler.nextFire(of: .event(event.id)) == nil })
            clock.advance(to: Self.t0 + 30)
            try await Self.onePassMore(of: harness.engine.scheduler)
            #expect(try await harness.store.ledger(eventId: event.id).isEmpty)
        }
    }

    /// Returns once the scheduler has looked for due fires again, after every change so far: what
    /// it did not fire then, it does not fire.
    static func onePassMore(of scheduler: Scheduler) async throws {
        let before = scheduler.passes
        scheduler.lookAgain()
        #expect(try await eventually { scheduler.passes > before })
    }
}

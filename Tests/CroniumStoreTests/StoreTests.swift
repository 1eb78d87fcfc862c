import CroniumCore
import CroniumTesting
import Foundation
import Logging
import SQLKit
import Testing

@testable import CroniumStore

/// Opens a real SQLite database in a fresh directory with one user, runs `body`, then cleans up.
func withStore(_ body: (Database, User) async throws -> Void) async throws {
    let directory = try TemporaryDirectory("store")
    defer { directory.remove() }
    let database = try await Database.openSQLite(path: directory.appending("cronium.sqlite"), logger: Logger(label: "test"))
    let user = try await database.insertUser(username: "ada", passwordHash: "x", role: .user, now: Date())
    do {
        try await body(database, user)
    } catch {
        try await database.shutdown()
        throw error
    }
    try await database.shutdown()
}

func sampleEvent(owner: UserID, name: String = "backup") throws -> Event {
    var input = EventInput()
    input.name = name
    input.type = .bash
    input.content = "echo hi"
    input.tags = ["ops"]
    input.environment = ["TARGET": "s3"]
    return try Event.create(from: input, ownerId: owner, now: Date(timeIntervalSince1970: 1_800_000_000))
}

@Suite struct StoreTests {
    @Test func migrationsApplyOnceAndReopen() async throws {
        let directory = try TemporaryDirectory("store")
        defer { directory.remove() }
        let path = directory.appending("db.sqlite")
        let first = try await Database.openSQLite(path: path, logger: Logger(label: "test"))
        _ = try await first.insertUser(username: "a", passwordHash: "h", role: .admin, now: Date())
        try await first.shutdown()
        let second = try await Database.openSQLite(path: path, logger: Logger(label: "test"))
        #expect(try await second.userCount() == 1)
        try await second.shutdown()
    }

    @Test func eventRoundTripKeepsEveryField() async throws {
        try await withStore { db, user in
            let event = try await db.insertEvent(try sampleEvent(owner: user.id))
            #expect(event.id > 0)
            let loaded = try #require(try await db.event(id: event.id))
            #expect(loaded == event)
            var changed = loaded
            changed.status = .active
            changed.name = "renamed"
            try await db.updateEvent(changed)
            #expect(try await db.event(id: event.id)?.name == "renamed")
            #expect(try await db.events(ownerOrShared: UserID(user.id.rawValue + 1)).isEmpty)
            #expect(try await db.events(ownerOrShared: user.id).count == 1)
            try await db.deleteEvent(id: event.id)
            #expect(try await db.event(id: event.id) == nil)
        }
    }

    @Test func queueClaimsDueJobsOnceInOrder() async throws {
        try await withStore { db, user in
            let event = try await db.insertEvent(try sampleEvent(owner: user.id))
            let now = Date()
            let a = try await db.enqueue(EnqueueRequest(eventId: event.id, trigger: .manual, runAt: now), now: now)
            let b = try await db.enqueue(EnqueueRequest(eventId: event.id, trigger: .manual, runAt: now), now: now)
            let later = try await db.enqueue(EnqueueRequest(eventId: event.id, trigger: .retry, attempt: 2, runAt: now + 60), now: now)
            #expect(try await db.execution(id: a)?.status == .pending)

            let claimed = try await db.claimAndStart(owner: "w1", limit: 10, now: now, leaseUntil: now + 30)
            #expect(claimed.map(\.execution.id) == [a, b])
            #expect(try await db.claimAndStart(owner: "w2", limit: 10, now: now, leaseUntil: now + 30).isEmpty)
            #expect(try await db.nextDueTime().map { abs($0.timeIntervalSince(now + 60)) < 0.01 } == true)

            #expect(
                try await db.finish(executionId: a, outcome: .init(status: .success, exitCode: 0), at: now + 1, logBytes: 3, logDroppedBytes: 0)
                    .recorded
            )
            let done = try #require(try await db.execution(id: a))
            #expect(done.status == .success && done.exitCode == 0 && done.logBytes == 3 && done.durationMs == 1000)
            // A finished execution cannot be finished again (a late cancel loses).
            #expect(
                try await db.finish(executionId: a, outcome: .init(status: .cancelled), at: now + 2, logBytes: 0, logDroppedBytes: 0).recorded
                    == false
            )

            let due = try await db.claimAndStart(owner: "w1", limit: 10, now: now + 61, leaseUntil: now + 90)
            #expect(due.map(\.execution.id) == [later])
        }
    }

    /// The dispatcher's claim marks the runs `RUNNING` and counts them in the same transaction.
    @Test func claimAndStartMarksRunsRunningAtOnce() async throws {
        try await withStore { db, user in
            let event = try await db.insertEvent(try sampleEvent(owner: user.id))
            let now = Date()
            let a = try await db.enqueue(EnqueueRequest(eventId: event.id, trigger: .manual, runAt: now), now: now)
            let b = try await db.enqueue(EnqueueRequest(eventId: event.id, trigger: .manual, runAt: now), now: now)
            let started = try await db.claimAndStart(owner: "w1", limit: 10, now: now, leaseUntil: now + 30)
            #expect(started.map(\.execution.id) == [a, b])
            #expect(started.map(\.execution.status) == [.running, .running])
            #expect(started.map(\.event.executionCount) == [1, 2])
            #expect(try await db.execution(id: b)?.status == .running)
            // On SQLite a data directory has one server: at start-up every claim is an orphan.
            #expect(try await db.orphanedJobs(atStartup: true, now: now).map(\.executionId) == [a, b])
            #expect(try await db.orphanedJobs(atStartup: false, now: now).isEmpty)
            #expect(try await db.claimAndStart(owner: "w1", limit: 10, now: now, leaseUntil: now + 30).isEmpty)
        }
    }

    /// A row this version cannot read (damaged, or written by a newer one) fails its own run with
    /// the reason; the runs claimed with it start.
    @Test func anUnreadableRowFailsOnlyItsOwnRun() async throws {
        try await withStore { db, user in
            let good = try await db.insertEvent(try sampleEvent(owner: user.id))
            let bad = try await db.insertEvent(try sampleEvent(owner: user.id))
            let now = Date()
            let first = try await db.enqueue(EnqueueRequest(eventId: good.id, trigger: .manual, runAt: now), now: now)
            let broken = try await db.enqueue(EnqueueRequest(eventId: bad.id, trigger: .manual, runAt: now), now: now)
            let held = try await db.enqueue(EnqueueRequest(eventId: bad.id, trigger: .manual, runAt: now, held: true), now: now)
            let last = try await db.enqueue(EnqueueRequest(eventId: good.id, trigger: .manual, runAt: now), now: now)
            try await db.transaction { sql in
                try await sql.raw("UPDATE events SET data = '{\"content\": 42' WHERE id = \(bind: bad.id)").run()
            }
            let started = try await db.claimAndStart(owner: "w", limit: 10, now: now, leaseUntil: now + 30)
            #expect(started.map(\.execution.id) == [first, last])
            let failed = try #require(try await db.execution(id: broken))
            #expect(failed.status == .failure && failed.errorCode == .startFailed && failed.finishedAt != nil)
            #expect(failed.error?.hasPrefix("the run could not start: its stored event or run could not be read") == true)
            // Its held successor is released, to fail the same way instead of waiting forever.
            #expect(try await db.claimAndStart(owner: "w", limit: 10, now: now, leaseUntil: now + 30).isEmpty)
            #expect(try await db.execution(id: held)?.status == .failure)
        }
    }

    @Test func expiredLeasesAreFound() async throws {
        try await withStore { db, user in
            let event = try await db.insertEvent(try sampleEvent(owner: user.id))
            let now = Date()
            let id = try await db.enqueue(EnqueueRequest(eventId: event.id, trigger: .manual, runAt: now), now: now)
            #expect(try await db.claimAndStart(owner: "dead", limit: 1, now: now, leaseUntil: now + 5).map(\.execution.id) == [id])
            #expect(try await db.orphanedJobs(atStartup: false, now: now + 1).isEmpty)
            #expect(try await db.orphanedJobs(atStartup: false, now: now + 6).map(\.executionId) == [id])
            // An expired job is not claimed again: recovery fails (and maybe retries) it instead.
            #expect(try await db.claimAndStart(owner: "alive", limit: 1, now: now + 6, leaseUntil: now + 36).isEmpty)
        }
    }

    @Test func startingRunsCountsFirstAttemptsAndPausesAtMaximum() async throws {
        try await withStore { db, user in
            var event = try sampleEvent(owner: user.id)
            event.status = .active
            event.maxExecutions = 2
            event = try await db.insertEvent(event)
            let now = Date()
            func start(attempt: Int) async throws -> StartedRun? {
                _ = try await db.enqueue(EnqueueRequest(eventId: event.id, trigger: .manual, attempt: attempt, runAt: now), now: now)
                return try await db.claimAndStart(owner: "w", limit: 10, now: now, leaseUntil: now + 30).first
            }
            let first = try #require(try await start(attempt: 1))
            #expect(first.execution.status == .running && first.event.executionCount == 1 && !first.budgetUsedUp)
            // A retry is part of the same run: it does not count.
            #expect(try await start(attempt: 2)?.event.executionCount == 1)
            let second = try #require(try await start(attempt: 1))
            #expect(second.budgetUsedUp && second.event.executionCount == 2)
            #expect(try await db.event(id: event.id)?.status == .paused)
            // Nothing is started twice, and a run cancelled while queued is not started.
            #expect(try await db.claimAndStart(owner: "w", limit: 10, now: now, leaseUntil: now + 30).isEmpty)
            let cancelled = try await db.enqueue(EnqueueRequest(eventId: event.id, trigger: .manual, runAt: now), now: now)
            #expect(try await db.requestCancel(executionId: cancelled, reason: "no", at: now) == .cancelledWhileQueued(releasedHeldRun: false))
            #expect(try await db.execution(id: cancelled)?.error == "no")
            #expect(try await db.claimAndStart(owner: "w", limit: 10, now: now, leaseUntil: now + 30).isEmpty)
        }
    }

    @Test func finishingReleasesTheOldestHeldRun() async throws {
        try await withStore { db, user in
            let event = try await db.insertEvent(try sampleEvent(owner: user.id))
            let now = Date()
            let running = try await db.enqueue(EnqueueRequest(eventId: event.id, trigger: .schedule, runAt: now), now: now)
            let held = try await db.enqueue(EnqueueRequest(eventId: event.id, trigger: .schedule, runAt: now, held: true), now: now)
            #expect(try await db.claimAndStart(owner: "w", limit: 10, now: now, leaseUntil: now + 30).map(\.execution.id) == [running])
            #expect(
                try await db.finish(executionId: running, outcome: .init(status: .success), at: now, logBytes: 0, logDroppedBytes: 0).releasedHeldRun
            )
            #expect(try await db.claimAndStart(owner: "w", limit: 10, now: now, leaseUntil: now + 30).map(\.execution.id) == [held])
        }
    }

    /// A retry is part of the run it retries: it goes before the held run, which waits for it.
    @Test func aRetryGoesBeforeTheHeldRun() async throws {
        try await withStore { db, user in
            let event = try await db.insertEvent(try sampleEvent(owner: user.id))
            let now = Date()
            let running = try await db.enqueue(EnqueueRequest(eventId: event.id, trigger: .schedule, runAt: now), now: now)
            let held = try await db.enqueue(EnqueueRequest(eventId: event.id, trigger: .schedule, runAt: now, held: true), now: now)
            #expect(try await db.claimAndStart(owner: "w", limit: 10, now: now, leaseUntil: now + 30).map(\.execution.id) == [running])
            let retry = EnqueueRequest(eventId: event.id, trigger: .retry, attempt: 2, runAt: now + 5)
            let result = try await db.finish(
                executionId: running,
                outcome: .init(status: .failure),
                at: now,
                logBytes: 0,
                logDroppedBytes: 0,
                retry: retry
            )
            #expect(result == FinishResult(recorded: true, releasedHeldRun: false))
            let retried = try await db.claimAndStart(owner: "w", limit: 10, now: now + 5, leaseUntil: now + 35)
            #expect(retried.map(\.execution.attempt) == [2])
            let retryResult = try await db.finish(
                executionId: retried[0].execution.id,
                outcome: .init(status: .success),
                at: now + 6,
                logBytes: 0,
                logDroppedBytes: 0
            )
            #expect(retryResult.releasedHeldRun)
            #expect(try await db.claimAndStart(owner: "w", limit: 10, now: now + 6, leaseUntil: now + 36).map(\.execution.id) == [held])
        }
    }

    /// A run that ends without running (cancelled while queued, or failed by crash recovery)
    /// lets the held run behind it go too.
    @Test func endingARunThatNeverRanReleasesTheHeldRunToo() async throws {
        try await withStore { db, user in
            let event = try await db.insertEvent(try sampleEvent(owner: user.id))
            let now = Date()
            let queued = try await db.enqueue(EnqueueRequest(eventId: event.id, trigger: .schedule, runAt: now), now: now)
            let held = try await db.enqueue(EnqueueRequest(eventId: event.id, trigger: .schedule, runAt: now, held: true), now: now)
            let result = try await db.finish(executionId: queued, outcome: .init(status: .cancelled), at: now, logBytes: 0, logDroppedBytes: 0)
            #expect(result == FinishResult(recorded: true, releasedHeldRun: true))
            #expect(try await db.claimAndStart(owner: "w", limit: 10, now: now, leaseUntil: now + 30).map(\.execution.id) == [held])
        }
    }

    @Test func logLinesAppendInBatchesAndPage() async throws {
        try await withStore { db, user in
            let event = try await db.insertEvent(try sampleEvent(owner: user.id))
            let id = try await db.enqueue(EnqueueRequest(eventId: event.id, trigger: .manual, runAt: Date()), now: Date())
            let lines = (1...250).map { LogLine(seq: $0, time: Date(), stream: $0 % 2 == 0 ? .stderr : .stdout, text: "line \($0) 'quoted'") }
            try await db.appendLogLines(executionId: id, Array(lines[0..<100]))
            try await db.appendLogLines(executionId: id, Array(lines[100...]))
            let page = try await db.logLines(executionId: id, afterSeq: 95, limit: 10)
            #expect(page.map(\.seq) == Array(96...105))
            #expect(page.first?.text == "line 96 'quoted'" && page.first?.stream == .stderr)
            #expect(try await db.logLines(executionId: id, afterSeq: 0, limit: 1000).count == 250)
            // A burst's batch larger than one statement may bind (SQLite allows 250,000 values,
            // five a row) is stored whole: it was lost with "variable number must be between".
            let burst = (251...80_250).map { LogLine(seq: $0, time: Date(), stream: .stdout, text: String($0)) }
            try await db.appendLogLines(executionId: id, burst)
            #expect(try await db.logLines(executionId: id, afterSeq: 80_249, limit: 10).map(\.text) == ["80250"])
        }
    }

    @Test func tokensResolveUntilRevoked() async throws {
        try await withStore { db, user in
            let token = try await db.insertToken(userId: user.id, name: "ci", prefix: "crn_abcd", tokenHash: "hash1", now: Date())
            let now = Date(timeIntervalSince1970: 1_900_000_000)
            #expect(try await db.user(tokenHash: "hash1", now: now)?.id == user.id)
            #expect(try await db.user(tokenHash: "other", now: now) == nil)
            // Use is noted to the minute.
            func lastUsed() async throws -> Date? { try await db.tokens(userId: user.id).first { $0.id == token.id }?.lastUsedAt }
            #expect(try await lastUsed() == now)
            _ = try await db.user(tokenHash: "hash1", now: now + 30)
            #expect(try await lastUsed() == now)
            _ = try await db.user(tokenHash: "hash1", now: now + 61)
            #expect(try await lastUsed() == now + 61)
            #expect(try await db.revokeToken(id: token.id, userId: UserID(user.id.rawValue + 1), now: Date()) == false)
            #expect(try await db.revokeToken(id: token.id, userId: user.id, now: Date()))
            #expect(try await db.user(tokenHash: "hash1", now: now + 120) == nil)
            await #expect(throws: CroniumError.self) {
                _ = try await db.insertUser(username: "ada", passwordHash: "y", role: .admin, now: Date())
            }
        }
    }
}

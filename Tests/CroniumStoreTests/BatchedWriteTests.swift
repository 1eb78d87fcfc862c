import CroniumCore
import CroniumTesting
import Foundation
import Testing

@testable import CroniumStore

/// The writes that batch several runs into one transaction: an instant's fires, the dispatcher's
/// ends recorded with its claims, and a run started in the transaction that records it.
@Suite struct BatchedWriteTests {
    /// More fires than one statement takes (a thousand rows): every ledger row names the run made
    /// for it, of its own event and occurrence, and every run has its job.
    @Test func anInstantOfManyFiresIsRecordedRowForRow() async throws {
        try await withStore { db, user in
            var events: [Event] = []
            for index in 0..<3 { events.append(try await db.insertEvent(try sampleEvent(owner: user.id, name: "e\(index)"))) }
            let now = Date(timeIntervalSince1970: 1_900_000_000)
            var records: [FireRecord] = []
            for second in 0..<850 {
                for (index, event) in events.enumerated() {
                    let scheduledFor = now - Double(second)
                    // Every seventh occurrence is skipped: a ledger row without a run.
                    let skipped = (second + index) % 7 == 0
                    let occurrence = ScheduleOccurrence(
                        eventId: event.id,
                        scheduledFor: scheduledFor,
                        recordedAt: now,
                        outcome: skipped ? .skipped : .ran
                    )
                    records.append(
                        FireRecord(
                            occurrence: occurrence,
                            run: skipped ? nil : EnqueueRequest(eventId: event.id, trigger: .schedule, scheduledFor: scheduledFor, runAt: now)
                        )
                    )
                }
            }
            let states = events.map { ScheduleState(owner: .event($0.id), nextFireAt: now + 1, lastFireAt: now) }
            try await db.recordFires(records, states: states, now: now)

            let runs = records.filter { $0.run != nil }.count
            #expect(try await db.queuedJobCount() == runs)
            var ledgerRows = 0
            for event in events {
                let ledger = try await db.ledger(eventId: event.id, limit: 10_000)
                ledgerRows += ledger.count
                for row in ledger {
                    guard let id = row.executionId else {
                        #expect(row.outcome == .skipped)
                        continue
                    }
                    let execution = try #require(try await db.execution(id: id))
                    #expect(execution.eventId == event.id && execution.scheduledFor == row.scheduledFor && execution.status == .pending)
                }
                #expect(
                    try await db.scheduleState(of: .event(event.id)) == ScheduleState(owner: .event(event.id), nextFireAt: now + 1, lastFireAt: now)
                )
            }
            #expect(ledgerRows == records.count)
        }
    }

    /// One pass of the dispatcher: the ends of two runs and the claim that fills their slots, in
    /// one transaction; a retry of a failed one is queued behind the claim.
    @Test func endsAreRecordedWithTheClaimThatFillsTheirSlots() async throws {
        try await withStore { db, user in
            let event = try await db.insertEvent(try sampleEvent(owner: user.id))
            let now = Date()
            var ids: [ExecutionID] = []
            for _ in 0..<3 { ids.append(try await db.enqueue(EnqueueRequest(eventId: event.id, trigger: .manual, runAt: now), now: now)) }
            #expect(try await db.claimAndStart(owner: "w", limit: 2, now: now, leaseUntil: now + 30).map(\.execution.id) == [ids[0], ids[1]])
            let retry = EnqueueRequest(eventId: event.id, trigger: .retry, attempt: 2, runAt: now + 60)
            let (finished, started) = try await db.finishAndClaim(
                [
                    RunEnd(executionId: ids[0], outcome: .success, finishedAt: now + 1, logBytes: 10, logDroppedBytes: 0),
                    RunEnd(
                        executionId: ids[1],
                        outcome: .failure(.exitStatus, "exited with status 1", exitCode: 1),
                        finishedAt: now + 1,
                        logBytes: 0,
                        logDroppedBytes: 0,
                        retry: retry
                    ),
                ],
                owner: "w",
                limit: 2,
                now: now + 1,
                leaseUntil: now + 31
            )
            #expect(finished.map(\.recorded) == [true, true])
            #expect(started.map(\.execution.id) == [ids[2]])
            #expect(try await db.execution(id: ids[0])?.status == .success)
            #expect(try await db.execution(id: ids[1])?.status == .failure)
            #expect(try await db.execution(id: ids[2])?.status == .running)
            // The retry waits for its backoff: queued, not claimed.
            #expect(try await db.queuedJobCount() == 1)
            // An end recorded twice is not recorded again.
            let again = try await db.finishAndClaim(
                [RunEnd(executionId: ids[0], outcome: .success, finishedAt: now + 2, logBytes: 0, logDroppedBytes: 0)],
                owner: "w",
                limit: 0,
                now: now + 2,
                leaseUntil: now + 32
            )
            #expect(again.finished.map(\.recorded) == [false] && again.started.isEmpty)
        }
    }

    /// The hand-off: the run is recorded already running and claimed, counted against the
    /// event's budget, and left for recovery like any claimed run if the server dies.
    @Test func aRunStartedAtOnceIsRecordedRunningAndClaimed() async throws {
        try await withStore { db, user in
            var event = try sampleEvent(owner: user.id)
            event.status = .active
            event.maxExecutions = 1
            event = try await db.insertEvent(event)
            let now = Date()
            let started = try await db.enqueueAndStart(
                EnqueueRequest(eventId: event.id, trigger: .manual, runAt: now),
                owner: "w",
                now: now,
                leaseUntil: now + 30
            )
            #expect(started.execution.status == .running && started.execution.startedAt != nil)
            #expect(started.event.executionCount == 1 && started.budgetUsedUp)
            #expect(try await db.event(id: event.id)?.status == .paused)
            #expect(try await db.claimAndStart(owner: "w", limit: 10, now: now, leaseUntil: now + 30).isEmpty)
            #expect(try await db.orphanedJobs(atStartup: true, now: now).map(\.executionId) == [started.execution.id])
            // A run of an event that does not exist is refused, and nothing is left behind.
            await #expect(throws: (any Error).self) {
                _ = try await db.enqueueAndStart(
                    EnqueueRequest(eventId: EventID(event.id.rawValue + 99), trigger: .manual, runAt: now),
                    owner: "w",
                    now: now,
                    leaseUntil: now + 30
                )
            }
            #expect(try await db.orphanedJobs(atStartup: true, now: now).count == 1)
        }
    }
}

import CroniumCore
import CroniumStore
import Foundation
import SQLKit

/// Turns due occurrences into runs under the event's overlap policy. Ledger rows, runs and the
/// next planned fire are written in one transaction, so a crash never leaves a fire half-recorded.
struct EngineScheduleSink: ScheduleSink {
    let engine: Engine

    func fire(eventId: Int64, schedule: Schedule, occurrences: [DueOccurrence], state: ScheduleState, now: Date) async throws {
        let policy = schedule.overlap
        let toReplace = policy == .replace ? try await engine.store.unfinishedExecutions(eventId: eventId).map(\.id) : []
        let busyBefore = policy == .allow || policy == .replace ? false : !(try await engine.store.unfinishedExecutions(eventId: eventId).isEmpty)
        let replacing = !toReplace.isEmpty
        try await engine.store.transaction { sql in
            var busy = busyBefore
            for occurrence in occurrences {
                var row = ScheduleOccurrence(eventId: eventId, scheduledFor: occurrence.scheduledFor, recordedAt: now, outcome: .ran)
                switch occurrence.kind {
                case .missed(let reason):
                    row.outcome = .missed
                    row.reason = reason
                case .onTime, .catchUp:
                    // Catch-up runs were all asked for, so they wait their turn rather than being skipped.
                    let catchUp = occurrence.kind == .catchUp
                    let hold = busy && (policy == .queue || (catchUp && policy != .allow))
                    let request = EnqueueRequest(eventId: eventId, trigger: .schedule, scheduledFor: occurrence.scheduledFor, runAt: now, held: hold)
                    if busy && policy == .skip && !catchUp {
                        row.outcome = .skipped
                        row.reason = "the previous run was still going (overlap policy skip)"
                    } else {
                        row.executionId = try await Database.enqueue(request, now: now, in: sql)
                        if catchUp {
                            row.outcome = .caughtUp
                            row.reason = hold ? "waits for the previous run to end (catch-up runs go one at a time)" : nil
                        } else if request.held {
                            row.outcome = .queued
                            row.reason = "waits for the previous run to end (overlap policy queue)"
                        } else if replacing {
                            row.outcome = .replaced
                            row.reason = "the previous run was cancelled to make room (overlap policy replace)"
                        }
                        busy = true
                    }
                }
                try await Database.recordOccurrence(row, in: sql)
            }
            try await Database.saveScheduleState(state, in: sql)
        }
        for id in toReplace {
            _ = try await engine.cancel(executionId: id, reason: "replaced by a newer scheduled run (overlap policy replace)")
        }
        engine.doorbell.ring()
    }
}

import CroniumCore
import CroniumStore
import Foundation

/// Turns due occurrences into runs under each event's overlap policy, and records one instant's
/// ledger rows, runs and next planned fires in one transaction, so a crash never leaves a fire
/// half-recorded.
struct ScheduleRecorder: ScheduleSink {
    let store: any Store
    let dispatcher: Dispatcher

    func fire(_ fires: [EventFire], now: Date) async throws {
        let watched = fires.filter { $0.schedule.overlap != .allow }.map(\.eventId)
        let unfinished = watched.isEmpty ? [:] : try await store.unfinishedExecutionIds(eventIds: watched)
        var records: [FireRecord] = []
        var toReplace: [ExecutionID] = []
        for fire in fires {
            let previous = unfinished[fire.eventId] ?? []
            if fire.schedule.overlap == .replace { toReplace += previous }
            records += Self.decide(fire, busy: !previous.isEmpty, now: now)
        }
        try await store.recordFires(records, states: fires.map(\.state), now: now)
        // Lateness counts to the commit: a fire is on time when it is recorded on time.
        let recorded = dispatcher.clock.now()
        let metrics = dispatcher.configuration.metrics
        metrics.received(.schedule, count: records.filter { $0.run != nil }.count)
        for fire in fires {
            for occurrence in fire.occurrences where occurrence.kind == .onTime {
                metrics.lateness(recorded.timeIntervalSince(occurrence.scheduledFor))
            }
        }
        for id in toReplace {
            _ = try await dispatcher.cancel(executionId: id, reason: "replaced by a newer scheduled run (overlap policy replace)")
        }
        dispatcher.doorbell.ring()
    }

    /// What each occurrence becomes under the event's overlap policy, given whether a run of it
    /// was really going when the instant came. Runs of the same pass (catch-ups, and an on-time
    /// occurrence after them) go one at a time behind each other; the overlap policy judges only
    /// the runs that were going before.
    static func decide(_ fire: EventFire, busy busyBefore: Bool, now: Date) -> [FireRecord] {
        let policy = fire.schedule.overlap
        let replacing = policy == .replace && busyBefore
        let going = policy == .allow || policy == .replace ? false : busyBefore
        var chained = false
        return fire.occurrences.map { occurrence in
            var row = ScheduleOccurrence(eventId: fire.eventId, scheduledFor: occurrence.scheduledFor, recordedAt: now, outcome: .ran)
            switch occurrence.kind {
            case .missed(let reason):
                row.outcome = .missed
                row.reason = reason
                return FireRecord(occurrence: row, run: nil)
            case .onTime, .catchUp:
                // Catch-up runs were all asked for, so they wait their turn rather than being skipped.
                let catchUp = occurrence.kind == .catchUp
                if going && policy == .skip && !catchUp {
                    row.outcome = .skipped
                    row.reason = "the previous run was still going (overlap policy skip)"
                    return FireRecord(occurrence: row, run: nil)
                }
                let hold = (going && (policy == .queue || catchUp)) || (chained && policy != .allow)
                if catchUp {
                    row.outcome = .caughtUp
                    row.reason = hold ? "waits for the previous run to end (catch-up runs go one at a time)" : nil
                } else if hold {
                    row.outcome = .queued
                    row.reason = going ? "waits for the previous run to end (overlap policy queue)" : "waits for the catch-up runs before it to end"
                } else if replacing {
                    row.outcome = .replaced
                    row.reason = "the previous run was cancelled to make room (overlap policy replace)"
                }
                chained = true
                return FireRecord(
                    occurrence: row,
                    run: EnqueueRequest(eventId: fire.eventId, trigger: .schedule, scheduledFor: occurrence.scheduledFor, runAt: now, held: hold)
                )
            }
        }
    }
}

import CroniumCore
import CroniumStore
import Foundation

/// Turns due occurrences into runs under each owner's overlap policy. One instant's event fires
/// (ledger rows, runs, next planned fires) are recorded in one transaction, and each workflow's
/// fire in one of its own, so a crash never leaves a fire half-recorded.
struct ScheduleRecorder: ScheduleSink {
    let store: any Store
    let dispatcher: Dispatcher

    func fire(_ fires: [ScheduleFire], now: Date) async -> [RunTarget: any Error] {
        var failed: [RunTarget: any Error] = [:]
        var toStop: [ExecutionID] = []
        let eventFires = fires.filter { if case .event = $0.owner { true } else { false } }
        do {
            toStop += try await recordEventFires(eventFires, now: now)
        } catch {
            for fire in eventFires { failed[fire.owner] = error }
        }
        for fire in fires {
            guard case .workflow(let id) = fire.owner else { continue }
            do {
                // A workflow deleted meanwhile has nothing to record; its entry goes with the change.
                guard let workflow = try await store.workflow(id: id) else { continue }
                toStop += try await RunQueue(queue: store).recordWorkflowFire(workflow, fire: fire, now: now)
            } catch {
                failed[fire.owner] = error
            }
        }
        // Lateness counts to the commit: a fire is on time when it is recorded on time.
        let recorded = dispatcher.clock.now()
        let metrics = dispatcher.configuration.metrics
        for fire in fires where failed[fire.owner] == nil {
            for occurrence in fire.occurrences where occurrence.kind == .onTime {
                metrics.lateness(recorded.timeIntervalSince(occurrence.scheduledFor))
            }
        }
        for id in toStop {
            _ = try? await dispatcher.cancel(executionId: id, reason: "replaced by a newer scheduled run (overlap policy replace)")
        }
        dispatcher.doorbell.ring()
        return failed
    }

    /// Records the events' fires in one transaction; returns the runs they replace, to stop.
    private func recordEventFires(_ fires: [ScheduleFire], now: Date) async throws -> [ExecutionID] {
        guard !fires.isEmpty else { return [] }
        let ids = fires.compactMap { fire in if case .event(let id) = fire.owner { id } else { nil } }
        let overlapping = zip(ids, fires).filter { $0.1.schedule.overlap != .allow }.map(\.0)
        let unfinished = overlapping.isEmpty ? [:] : try await store.unfinishedExecutionIds(eventIds: overlapping)
        var records: [FireRecord] = []
        var toReplace: [ExecutionID] = []
        for (eventId, fire) in zip(ids, fires) {
            let previous = unfinished[eventId] ?? []
            if fire.schedule.overlap == .replace { toReplace += previous }
            records += Self.decide(fire, busy: !previous.isEmpty).map { decision in
                FireRecord(
                    occurrence: ScheduleOccurrence(
                        eventId: eventId,
                        scheduledFor: decision.scheduledFor,
                        recordedAt: now,
                        outcome: decision.outcome,
                        reason: decision.reason
                    ),
                    run: decision.runs
                        ? EnqueueRequest(eventId: eventId, trigger: .schedule, scheduledFor: decision.scheduledFor, runAt: now, held: decision.held)
                        : nil
                )
            }
        }
        try await store.recordFires(records, states: fires.map(\.state), now: now)
        dispatcher.configuration.metrics.received(.schedule, count: records.filter { $0.run != nil }.count)
        return toReplace
    }

    /// What became of one occurrence: its ledger outcome, and whether it runs (held behind the
    /// run before it, or not).
    struct Decision: Equatable {
        var scheduledFor: Date
        var outcome: OccurrenceOutcome
        var reason: String?
        var runs: Bool
        var held: Bool
    }

    /// What each occurrence becomes under the event's overlap policy, given whether a run of it
    /// was really going when the instant came. Runs of the same pass (catch-ups, and an on-time
    /// occurrence after them) go one at a time behind each other; the overlap policy judges only
    /// the runs that were going before.
    static func decide(_ fire: ScheduleFire, busy busyBefore: Bool) -> [Decision] {
        let policy = fire.schedule.overlap
        let replacing = policy == .replace && busyBefore
        let going = policy == .allow || policy == .replace ? false : busyBefore
        var chained = false
        return fire.occurrences.map { occurrence in
            var decision = Decision(scheduledFor: occurrence.scheduledFor, outcome: .ran, runs: false, held: false)
            switch occurrence.kind {
            case .missed(let reason):
                decision.outcome = .missed
                decision.reason = reason
                return decision
            case .onTime, .catchUp:
                // Catch-up runs were all asked for, so they wait their turn rather than being skipped.
                let catchUp = occurrence.kind == .catchUp
                if going && policy == .skip && !catchUp {
                    decision.outcome = .skipped
                    decision.reason = "the previous run was still going (overlap policy skip)"
                    return decision
                }
                let hold = (going && (policy == .queue || catchUp)) || (chained && policy != .allow)
                if catchUp {
                    decision.outcome = .caughtUp
                    decision.reason = hold ? "waits for the previous run to end (catch-up runs go one at a time)" : nil
                } else if hold {
                    decision.outcome = .queued
                    decision.reason =
                        going ? "waits for the previous run to end (overlap policy queue)" : "waits for the catch-up runs before it to end"
                } else if replacing {
                    decision.outcome = .replaced
                    decision.reason = "the previous run was cancelled to make room (overlap policy replace)"
                }
                chained = true
                decision.runs = true
                decision.held = hold
                return decision
            }
        }
    }
}

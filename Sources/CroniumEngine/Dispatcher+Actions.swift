import CroniumCore
import CroniumStore
import Foundation
import Logging

extension Dispatcher {
    /// After a run's final end (no retry follows): its event's actions that apply, `ALWAYS`
    /// first, then `ON_SUCCESS` or `ON_FAILURE`, then `ON_CONDITION`. Each is recorded on the run,
    /// fired or failed with why; the runs they ask for are queued in the same transaction, with
    /// this run's output as their input.
    func fireActions(after execution: Execution, of event: Event, outcome: ExecutionOutcome) async {
        let due = (event.actions ?? []).enumerated()
            .filter { $0.element.applies(to: outcome.status, condition: outcome.condition) }
            .sorted { ($0.element.when.rank, $0.offset) < ($1.element.when.rank, $1.offset) }
        guard !due.isEmpty else { return }
        let now = clock.now()
        let depth = (execution.chainDepth ?? 0) + 1
        var firings: [ActionFiring] = []
        var runs: [(position: Int, request: EnqueueRequest)] = []
        for (position, action) in due {
            func record(_ error: String?) {
                firings.append(
                    ActionFiring(
                        position: position, when: action.when, type: action.type, targetEventId: action.eventId, executionId: nil,
                        status: error == nil ? .fired : .failed, error: error, firedAt: now))
            }
            switch action.type {
            case .sendMessage:
                record("tool actions are not available yet: this SEND_MESSAGE (\(action.tool ?? "no tool")) will be sent once Cronium has tool actions")
            case .runEvent:
                guard let targetId = action.eventId else {
                    record("the action names no event to run")
                    continue
                }
                if let problem = await problem(running: targetId, after: event, depth: depth) {
                    record(problem)
                    continue
                }
                runs.append(
                    (
                        position,
                        EnqueueRequest(
                            eventId: targetId, trigger: .action, runAt: now, triggeredBy: execution.triggeredBy, input: outcome.outputValue,
                            parentExecutionId: execution.id, chainDepth: depth)
                    ))
                record(nil)
            }
        }
        do {
            _ = try await store.recordActions(of: execution.id, firings: firings, runs: runs, now: now)
            if !runs.isEmpty {
                configuration.metrics.received(.action, count: runs.count)
                doorbell.ring()
            }
        } catch {
            logger.error("could not record a run's actions", metadata: ["execution.id": "\(execution.id)", "error": "\(String(reflecting: error))"])
        }
    }

    /// Why the event `targetId` cannot run after a run of `source`, or nil.
    private func problem(running targetId: EventID, after source: Event, depth: Int) async -> String? {
        guard depth <= EventAction.maxChainDepth else {
            return "a chain may start at most \(EventAction.maxChainDepth) runs one after another through actions; it stops here"
        }
        do {
            guard let target = try await store.event(id: targetId), let owner = try await store.user(id: source.ownerId), owner.canRead(target) else {
                return "event \(targetId) does not exist any more, or the owner of event \(source.id) may not see it"
            }
            guard owner.canRun(target) else { return "the owner of event \(source.id) may not run event \(targetId)" }
            if target.status == .archived { return "event \(targetId) '\(target.name)' is archived" }
            return nil
        } catch {
            return "event \(targetId) could not be read: \(error)"
        }
    }
}

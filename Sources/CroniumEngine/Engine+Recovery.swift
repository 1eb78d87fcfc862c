import CroniumCore
import CroniumStore
import Foundation
import Logging

extension Engine {
    /// Jobs claimed by a process that is gone: with SQLite this process is the only node, so every
    /// claimed job at start-up is an orphan; later, any lease that ran out. Each is failed with a
    /// clear reason and, when the event has retries left, tried again.
    func recoverOrphanedJobs(all: Bool = true) async throws {
        let now = clock.now()
        let orphans = all && store.dialect == .sqlite ? try await store.claimedJobs() : try await store.expiredJobs(now: now)
        for job in orphans {
            let reason = "the run was interrupted: Cronium stopped while it was in progress"
            let outcome = ExecutionOutcome(status: .failure, error: reason)
            var retry: EnqueueRequest?
            if let execution = try await store.execution(id: job.executionId), let event = try await store.event(id: job.eventId) {
                retry = Self.retry(of: execution, event: event, outcome: outcome, finishedAt: now)
                // At once: the backoff is for a failing script, not for Cronium having stopped.
                retry?.runAt = now
            }
            guard try await store.finish(executionId: job.executionId, outcome: outcome, at: now, logBytes: 0, logDroppedBytes: 0, retry: retry).recorded
            else { continue }
            logger.warning("recovered an interrupted run", metadata: ["execution.id": "\(job.executionId)"])
            try await store.appendLogLines(
                executionId: job.executionId,
                [LogLine(seq: Int(Int32.max), time: now, stream: .system, text: "[cronium] \(reason)")])
        }
        if !orphans.isEmpty { doorbell.ring() }
    }

    func renewLeasesPeriodically() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: .seconds(configuration.leaseSeconds / 3))
            let now = clock.now()
            do {
                try await store.renewLeases(owner: configuration.nodeId, until: now + configuration.leaseSeconds)
                try await recoverOrphanedJobs(all: false)
            } catch {
                if !Task.isCancelled { logger.error("lease renewal failed", metadata: ["error": "\(String(reflecting: error))"]) }
            }
        }
    }
}

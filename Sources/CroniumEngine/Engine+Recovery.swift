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
            guard try await store.finish(executionId: job.executionId, outcome: .init(status: .failure, error: reason), at: now, logBytes: 0, logDroppedBytes: 0).recorded,
                let execution = try await store.execution(id: job.executionId),
                let event = try await store.event(id: job.eventId)
            else { continue }
            logger.warning("recovered an interrupted run", metadata: ["execution.id": "\(job.executionId)"])
            try await store.appendLogLines(
                executionId: job.executionId,
                [LogLine(seq: Int(Int32.max), time: now, stream: .system, text: "[cronium] \(reason)")])
            if execution.attempt <= event.retries {
                _ = try await store.enqueue(
                    EnqueueRequest(eventId: event.id, trigger: .retry, attempt: execution.attempt + 1, scheduledFor: execution.scheduledFor, runAt: now, triggeredBy: execution.triggeredBy),
                    now: now)
            }
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

import CroniumCore
import CroniumStore
import Foundation
import Logging

/// Ends runs whose node is gone: at start-up the ones this data directory's last server left
/// claimed, later any whose lease ran out. Each is failed with a clear reason and, when its event
/// has retries left, tried again at once (the backoff is for a failing script, not for Cronium
/// having stopped).
struct Recovery: Sendable {
    let store: any Store
    let clock: any EngineClock
    let logger: Logger

    static let reason = "the run was interrupted: Cronium stopped while it was in progress"

    /// `atStartup`: every job the store says no live node can hold; otherwise expired leases only.
    @discardableResult
    func recoverInterrupted(all atStartup: Bool) async throws -> Int {
        let now = clock.now()
        let orphans = try await store.orphanedJobs(atStartup: atStartup, now: now)
        var recovered = 0
        for job in orphans {
            let outcome = ExecutionOutcome.failure(.interrupted, Self.reason)
            var retry: EnqueueRequest?
            if let execution = try await store.execution(id: job.executionId), let event = try await store.event(id: job.eventId) {
                retry = Engine.retry(of: execution, event: event, outcome: outcome, finishedAt: now)
                retry?.runAt = now
            }
            guard
                try await RunQueue(queue: store).finish(
                    RunEnd(executionId: job.executionId, outcome: outcome, finishedAt: now, logBytes: 0, logDroppedBytes: 0, retry: retry)
                )
                .recorded
            else { continue }
            try await store.endParts(of: job.executionId, outcome: outcome, at: now)
            recovered += 1
            logger.warning("recovered an interrupted run", metadata: ["execution.id": "\(job.executionId)"])
            try await store.appendLogLines(
                executionId: job.executionId,
                [LogLine(seq: Int(Int32.max), time: now, stream: .system, text: "[cronium] \(Self.reason)")]
            )
        }
        return recovered
    }
}

import CroniumCore
import CroniumEngine
import CroniumStore
import Foundation

/// The engine's queue rules (``RunQueue``) on a store, for tests that drive the queue by hand.
extension Database {
    public func finishAndClaim(_ ends: [RunEnd], owner: String, limit: Int, now: Date, leaseUntil: Date) async throws -> (
        finished: [FinishResult], started: [StartedRun]
    ) {
        try await RunQueue(queue: self).finishAndClaim(ends, owner: owner, limit: limit, now: now, leaseUntil: leaseUntil)
    }

    /// The dispatcher's claim without ends to record.
    public func claimAndStart(owner: String, limit: Int, now: Date, leaseUntil: Date) async throws -> [StartedRun] {
        try await finishAndClaim([], owner: owner, limit: limit, now: now, leaseUntil: leaseUntil).started
    }

    public func enqueueAndStart(_ request: EnqueueRequest, owner: String, now: Date, leaseUntil: Date) async throws -> StartedRun {
        try await RunQueue(queue: self).enqueueAndStart(request, owner: owner, now: now, leaseUntil: leaseUntil)
    }

    @discardableResult
    public func finish(
        executionId: ExecutionID,
        outcome: ExecutionOutcome,
        at time: Date,
        logBytes: Int,
        logDroppedBytes: Int,
        retry: EnqueueRequest? = nil
    ) async throws -> FinishResult {
        try await RunQueue(queue: self).finish(
            RunEnd(executionId: executionId, outcome: outcome, finishedAt: time, logBytes: logBytes, logDroppedBytes: logDroppedBytes, retry: retry)
        )
    }

    public func requestCancel(executionId: ExecutionID, reason: String, at time: Date) async throws -> CancelRequest {
        try await RunQueue(queue: self).requestCancel(executionId: executionId, reason: reason, at: time)
    }
}

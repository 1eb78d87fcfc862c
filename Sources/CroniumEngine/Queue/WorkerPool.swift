import Foundation
import Logging
import ServiceLifecycle

/// The loop the dispatcher and the delivery worker share (swift-jobs' `JobQueueProcessor` is the
/// model): each pass takes as much work as there is room for and starts each piece in a child of
/// one task group; between passes it sleeps until rung (work recorded, work ended, shutdown) or
/// until the next piece falls due, never polling. A pass that fails is tried again after a pause,
/// so a store that fails is not hammered. On graceful shutdown it stops taking work; what is
/// running is then the owner's to drain, in the same task group.
struct WorkerPool: Sendable {
    /// What a pass says about the next one.
    enum Next: Sendable {
        /// At once: the pass filled every free slot, so more may be waiting.
        case again
        /// When rung, or at this time when there is one (a delayed job falls due).
        case whenRung(orAt: Date?)
    }

    let doorbell: Doorbell
    let clock: any EngineClock
    /// After a pass that threw.
    let pauseAfterFailure: TimeInterval
    let logger: Logger

    /// Runs passes until a graceful shutdown (`stopping` runs then, before the loop is woken to
    /// end), then `drain`. `failure` names what a failing pass could not do, for the log.
    func run(
        failure: String,
        stopping: @escaping @Sendable () -> Void = {},
        pass: (inout DiscardingTaskGroup) async throws -> Next,
        drain: (inout DiscardingTaskGroup) async -> Void
    ) async {
        await withDiscardingTaskGroup { group in
            await withGracefulShutdownHandler {
                while !Task.isShuttingDownGracefully && !Task.isCancelled {
                    let next: Next
                    do {
                        next = try await pass(&group)
                    } catch {
                        logger.error("\(failure)", metadata: ["error": "\(String(reflecting: error))"])
                        next = .whenRung(orAt: clock.now() + pauseAfterFailure)
                    }
                    guard case .whenRung(let deadline) = next, !Task.isShuttingDownGracefully else { continue }
                    await doorbell.wait(until: deadline, clock: clock)
                }
            } onGracefulShutdown: {
                stopping()
                doorbell.ring()
            }
            await drain(&group)
        }
    }
}

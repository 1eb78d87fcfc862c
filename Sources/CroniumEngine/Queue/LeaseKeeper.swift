import CroniumStore
import Foundation
import Logging
import ServiceLifecycle

/// Keeps this node's leases on the jobs it runs, and ends runs whose node let its leases run out.
/// Sleeps without waking while this node runs nothing.
final class LeaseKeeper: Service, Sendable {
    let dispatcher: Dispatcher
    let recovery: Recovery
    let configuration: Engine.Configuration
    let logger: Logger

    init(dispatcher: Dispatcher, recovery: Recovery, configuration: Engine.Configuration, logger: Logger) {
        self.dispatcher = dispatcher
        self.recovery = recovery
        self.configuration = configuration
        self.logger = logger
    }

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                let clock = self.recovery.clock
                if self.dispatcher.activeCount == 0 {
                    await self.dispatcher.leasesTaken.wait(until: nil, clock: clock)
                    continue
                }
                try? await clock.sleep(until: clock.now() + self.configuration.leaseSeconds / 3)
                if Task.isCancelled { return }
                do {
                    let now = clock.now()
                    try await self.recovery.store.renewLeases(owner: self.configuration.nodeId, until: now + self.configuration.leaseSeconds)
                    if try await self.recovery.recoverInterrupted(all: false) > 0 {
                        self.dispatcher.doorbell.ring()
                        self.dispatcher.logHub.runsChanged()
                    }
                } catch {
                    self.logger.error("lease renewal failed", metadata: ["error": "\(String(reflecting: error))"])
                }
            }
        }
    }
}

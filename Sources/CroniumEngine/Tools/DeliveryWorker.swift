import CroniumCore
import CroniumExecutors
import CroniumStore
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// Sends the messages that runs' actions recorded: a few at once, each tool within its
/// ``ToolRateLimit``, every delivery finished in the store with what
/// the far end answered and its action marked fired or failed. A message recorded but not sent
/// when the server stopped is sent at the next start (so rarely one goes out twice, never none).
final class DeliveryWorker: Service, Sendable {
    let store: any Store
    let cipher: SecretCipher
    let delivery: ToolDelivery
    let clock: any EngineClock
    let logger: Logger
    let doorbell = Doorbell()
    let limits: ToolRateLimit
    static let concurrency = 8
    /// At most this many of one tool's messages at once: a tool held back by its rate limit (a
    /// flood to one Slack channel) must not take every slot from the others (the failure email).
    static let perTool = 2
    /// What is being sent, and through which tool (owner and name).
    private let inFlight = Mutex<[DeliveryID: ToolKey]>([:])

    struct ToolKey: Hashable, Sendable {
        let owner: UserID
        let tool: String
    }

    init(store: any Store, cipher: SecretCipher, delivery: ToolDelivery, limits: ToolRateLimit, clock: any EngineClock, logger: Logger) {
        self.store = store
        self.cipher = cipher
        self.delivery = delivery
        self.limits = limits
        self.clock = clock
        self.logger = logger
    }

    func run() async throws {
        let pool = WorkerPool(doorbell: doorbell, clock: clock, pauseAfterFailure: 1, logger: logger)
        await pool.run(
            failure: "could not read the messages to send",
            pass: { group in try await self.sendPass(group: &group) },
            // What is being sent at shutdown stays pending, and goes at the next start.
            drain: { group in group.cancelAll() }
        )
    }

    /// Starts the pending messages there is room for: eight at once, two of one tool's.
    private func sendPass(group: inout DiscardingTaskGroup) async throws -> WorkerPool.Next {
        let busy = inFlight.withLock { $0 }
        let free = Self.concurrency - busy.count
        guard free > 0 else { return .whenRung(orAt: nil) }
        var inHand = Dictionary(busy.values.map { ($0, 1) }, uniquingKeysWith: +)
        let full = inHand.filter { $0.value >= Self.perTool }.keys.map { (owner: $0.owner, tool: $0.tool) }
        let due = try await store.pendingDeliveries(excluding: Set(busy.keys), excludingTools: full, limit: free)
        // The first is always of a tool with room; the rest wait for the next pass (at once) when
        // theirs has none.
        for message in due {
            let key = ToolKey(owner: message.ownerId, tool: message.toolName)
            guard inHand[key, default: 0] < Self.perTool else { continue }
            inHand[key, default: 0] += 1
            inFlight.withLock { $0[message.id] = key }
            group.addTask {
                await self.send(message)
                self.inFlight.withLock { _ = $0.removeValue(forKey: message.id) }
                self.doorbell.ring()
            }
        }
        return due.isEmpty ? .whenRung(orAt: nil) : .again
    }

    /// Says that messages were recorded.
    func wake() { doorbell.ring() }

    private func send(_ message: Delivery) async {
        let result: DeliveryResult
        do {
            guard let stored = try await store.tool(named: message.toolName, usableBy: message.ownerId) else {
                return await finish(message, DeliveryResult(attempts: 0, error: "there is no tool \(message.toolName) any more"))
            }
            let credential = try cipher.openTool(stored.sealedCredential)
            try await limits.take(stored.tool, ownedBy: stored.ownerId, clock: clock)
            let status = try await store.execution(id: message.executionId)?.status
            result = await delivery.deliver(ToolMessage(message, status: status), with: stored.tool, credential: credential)
        } catch is CancellationError {
            return
        } catch {
            result = DeliveryResult(attempts: 0, error: "could not send: \(error)")
        }
        // Cut short by shutdown: not finished, so it goes again at the next start.
        if Task.isCancelled { return }
        await finish(message, result)
    }

    /// Records how a delivery went. The message has gone (or failed for good): it must not be
    /// sent again, so a store that refuses is asked again, once a second, until it takes it or
    /// the server stops (and then it is sent again at the next start, as the log says).
    private func finish(_ message: Delivery, _ result: DeliveryResult) async {
        var failures = 0
        while true {
            do {
                try await store.finishDelivery(
                    message.id,
                    delivered: result.delivered,
                    attempts: result.attempts,
                    answerStatus: result.status,
                    answer: result.response,
                    error: result.error,
                    at: clock.now()
                )
                if failures > 0 { logger.notice("recorded the delivery after \(failures) failure(s)", metadata: ["delivery.id": "\(message.id)"]) }
                return
            } catch {
                failures += 1
                let metadata: Logger.Metadata = ["delivery.id": "\(message.id)", "error": "\(String(reflecting: error))"]
                guard (try? await clock.sleep(until: clock.now() + 1)) != nil else {
                    logger.error("could not record a delivery before the server stopped: it is sent again at the next start", metadata: metadata)
                    return
                }
                if failures == 1 { logger.error("could not record a delivery; trying again every second", metadata: metadata) }
            }
        }
    }
}

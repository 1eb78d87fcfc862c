import CroniumCore
import CroniumEngine
import CroniumExecutors
import Foundation
import Hummingbird
import Synchronization

/// Probes for load balancers and orchestrators; the only routes without authentication.
struct HealthController {
    let accounts: Accounts
    let ready: ReadinessFlag
    let protections: [Isolation.Protection]
    let containerEngine: ContainerEngine

    struct Health: ResponseEncodable {
        let status: String
        let version: String
        /// On `/ready`: what bounds local runs here, one entry per protection.
        var sandbox: [Isolation.Protection]? = nil
        /// On `/ready`: whether `CONTAINER` runs can start, and why not. Not part of readiness:
        /// a server without an engine serves everything else.
        var containerEngine: EngineHealth? = nil
    }

    struct EngineHealth: Encodable {
        let available: Bool
        let detail: String
    }

    func addRoutes(to router: Router<AppRequestContext>) {
        router.get("health") { _, _ in Health(status: "ok", version: CroniumServer.version) }
        router.get("live") { _, _ in Health(status: "ok", version: CroniumServer.version) }
        router.get("ready") { _, _ -> Health in
            guard ready.isSet else { throw Problem(.unavailable, "starting") }
            guard await accounts.storeAnswers() else { throw Problem(.unavailable, "the database does not answer") }
            let engine = await containerEngine.status()
            return Health(
                status: "ready",
                version: CroniumServer.version,
                sandbox: protections,
                containerEngine: EngineHealth(available: engine.available, detail: engine.detail)
            )
        }
    }
}

/// Becomes true once the server accepts connections.
final class ReadinessFlag: Sendable {
    private let value = Mutex(false)
    var isSet: Bool { value.withLock { $0 } }
    func set() { value.withLock { $0 = true } }
}

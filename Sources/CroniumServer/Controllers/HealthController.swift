import CroniumCore
import CroniumEngine
import CroniumRunnerKit
import Foundation
import Hummingbird
import Synchronization

/// Probes for load balancers and orchestrators; the only routes without authentication.
struct HealthController {
    let node: EngineNode
    let ready: ReadinessFlag

    struct Health: ResponseEncodable {
        let status: String
        let version: String
        /// On `/ready`: what bounds local runs, and whether container runs can start, beside
        /// `status` and `version`.
        var node: EngineNode.Readiness? = nil

        enum CodingKeys: String, CodingKey { case status, version, commit }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(status, forKey: .status)
            try container.encode(version, forKey: .version)
            // A packaged build's commit, so that two servers of one version can be told apart.
            try container.encodeIfPresent(BuildInfo.commit, forKey: .commit)
            try node?.encode(to: encoder)
        }
    }

    func addRoutes(to router: Router<AppRequestContext>) {
        router.get("health") { _, _ in Health(status: "ok", version: CroniumServer.version) }
        router.get("live") { _, _ in Health(status: "ok", version: CroniumServer.version) }
        router.get("ready") { _, _ -> Health in
            guard ready.isSet else { throw Problem(.unavailable, "starting") }
            return Health(status: "ready", version: CroniumServer.version, node: try await node.readiness())
        }
    }
}

/// Becomes true once the server accepts connections.
final class ReadinessFlag: Sendable {
    private let value = Mutex(false)
    var isSet: Bool { value.withLock { $0 } }
    func set() { value.withLock { $0 = true } }
}

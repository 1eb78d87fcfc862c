import CroniumCore
import CroniumExecutors
import CroniumStore

extension EngineNode {
    /// What `/ready` reports of the node: what bounds local runs here, and whether `CONTAINER`
    /// runs can start.
    public struct Readiness: Encodable, Sendable {
        /// One entry per protection, in force or missing and why.
        public let sandbox: [Isolation.Protection]
        /// Not part of readiness: a node without a container engine serves everything else.
        public let containerEngine: ContainerEngineHealth
    }

    public struct ContainerEngineHealth: Encodable, Sendable {
        public let available: Bool
        public let detail: String
    }

    /// Whether a read of the database comes back: what `/ready` and systemd's watchdog ask.
    public func databaseAnswers() async -> Bool { (try? await store.userCount()) != nil }

    /// The node's readiness, or an `UNAVAILABLE` error when its database does not answer.
    public func readiness() async throws -> Readiness {
        guard await databaseAnswers() else { throw CroniumError(.unavailable, "the database does not answer") }
        let status = await containerEngine.status()
        return Readiness(sandbox: protections, containerEngine: ContainerEngineHealth(available: status.available, detail: status.detail))
    }
}

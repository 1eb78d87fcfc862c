import CroniumCore
import CroniumExecutors

extension EngineNode {
    /// The runner images of `CONTAINER` runs on this node's container engine, for the web UI:
    /// each image's state against the recipe this build makes it from. Building them stays with
    /// `cronium images build` on the machine (it takes minutes and the host's package sources).
    public struct RunnerImagesStatus: Encodable, Sendable {
        public struct Image: Encodable, Sendable {
            public let name: String
            /// `UP_TO_DATE`, `OUTDATED` (made from another recipe: build it again) or `MISSING`.
            public let state: String
            public let id: String?
        }

        public let engine: ContainerEngineHealth
        /// Empty when the engine is not there.
        public let images: [Image]
    }

    public func runnerImages() async -> RunnerImagesStatus {
        let status = await containerEngine.status()
        let health = ContainerEngineHealth(available: status.available, detail: status.detail)
        guard status.available, let client = try? await containerEngine.client() else { return RunnerImagesStatus(engine: health, images: []) }
        let images = ContainerImages(images: RunnerImages(client: client))
        var listed: [RunnerImagesStatus.Image] = []
        for (_, name) in ContainerImages.names {
            switch try? await images.state(of: name) {
            case .upToDate(let id): listed.append(.init(name: name, state: "UP_TO_DATE", id: id))
            case .outdated(let id): listed.append(.init(name: name, state: "OUTDATED", id: id))
            case .missing: listed.append(.init(name: name, state: "MISSING", id: nil))
            case nil: listed.append(.init(name: name, state: "UNKNOWN", id: nil))
            }
        }
        return RunnerImagesStatus(engine: health, images: listed)
    }
}

import CroniumCore
import CroniumExecutors
import Foundation

/// The runner images of `CONTAINER` runs on this machine's container engine, for `cronium images`:
/// which are ready, missing or outdated, and building them from Debian packages. No server needed.
public struct ContainerImages: Sendable {
    let images: RunnerImages

    /// Where an image stands against the recipe this build would make it from.
    public enum State: Sendable, Equatable {
        case missing
        case outdated(id: String)
        case upToDate(id: String)
    }

    /// The engine's name and version, its socket, and the Debian suite images are built from.
    public var engine: String { images.client.engine }
    public var socketPath: String { images.client.socketPath }
    public var suite: String { images.suite }

    /// On the engine at `socket`, or the one a server would find (`CRONIUM_CONTAINER_SOCKET`,
    /// `DOCKER_HOST`, the usual paths); throws with a line that says why there is none.
    public static func open(socket: String?) async throws -> ContainerImages {
        ContainerImages(images: RunnerImages(client: try await ContainerEngine.locate(option: socket).client()))
    }

    /// Every image's name (`cronium/runner:bash`…), by its short name (`bash`, `python`, `node`).
    public static var names: [(short: String, image: String)] {
        RunnerImages.recipes.map { (String($0.image.split(separator: ":").last ?? ""), $0.image) }
    }

    public func state(of image: String) async throws -> State {
        switch try await images.state(of: try recipe(image)) {
        case .missing: .missing
        case .outdated(let id): .outdated(id: id)
        case .upToDate(let id): .upToDate(id: id)
        }
    }

    /// Builds `image` and imports it; `progress` hears each step. Returns the new image's id.
    public func build(_ image: String, progress: @Sendable (String) -> Void) async throws -> String {
        try await images.build(try recipe(image), progress: progress)
    }

    private func recipe(_ image: String) throws -> RunnerImages.Recipe {
        guard let recipe = RunnerImages.recipes.first(where: { $0.image == image }) else {
            throw CroniumError(.notFound, "\(image) is not one of Cronium's runner images")
        }
        return recipe
    }
}

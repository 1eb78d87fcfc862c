import CroniumEngine
import Hummingbird

/// `GET /api/v1/images`: the container engine and the runner images of `CONTAINER` runs, for
/// the web UI (what `cronium images list` shows on the machine).
struct ImageController {
    let node: EngineNode

    func addRoutes(to group: RouterGroup<UserRequestContext>) {
        group.get { _, context in
            _ = context.user
            return await node.runnerImages()
        }
    }
}

extension EngineNode.RunnerImagesStatus: ResponseEncodable {}

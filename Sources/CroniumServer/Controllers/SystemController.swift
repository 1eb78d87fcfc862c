import CroniumCore
import CroniumEngine
import Hummingbird

/// `GET /api/v1/system/storage`: how big the store is and what retention keeps, for
/// `cronium status` and the web UI, for any signed-in user (as `/metrics` is).
/// `POST /api/v1/system/purge`: a retention purge now, for administrators (`cronium purge`).
struct SystemController {
    let engine: Engine

    func addRoutes(to group: RouterGroup<UserRequestContext>) {
        group.get("storage") { _, context in
            _ = context.user
            return try await engine.storageReport()
        }
        group.post("purge") { _, context in
            guard context.user.role == .admin else { throw CroniumError(.forbidden, "only an administrator may start a purge") }
            return try await engine.purgeNow()
        }
    }
}

extension StorageReport: ResponseEncodable {}
extension StorageReport.LastPurge: ResponseEncodable {}

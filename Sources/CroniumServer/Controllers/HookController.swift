import CroniumCore
import CroniumEngine
import Foundation
import HTTPTypes
import Hummingbird

/// Incoming webhooks: `POST /api/v1/hooks/{key}` for senders (no account: the key and, when set,
/// the signature are the credentials), and `…/events/{id}/hook`, `…/workflows/{id}/hook` for
/// whoever may change the event or workflow.
struct HookController {
    let engine: Engine

    /// The delivery route; it sits outside the signed-in group.
    func addDeliveryRoute(to group: RouterGroup<AppRequestContext>) {
        group.post("hooks/:key", use: deliver)
    }

    /// `hook`, `hook/rotate` under an event's or a workflow's path.
    func addSettingsRoutes(to group: RouterGroup<UserRequestContext>, target: @escaping @Sendable (Int64) -> RunTarget) {
        group.get(":id/hook") { _, context in
            let target = target(try context.parameters.require("id", as: Int64.self))
            guard let hook = try await engine.hook(for: target, by: context.user) else {
                throw CroniumError(.notFound, "\(target) has no webhook; make one with POST …/hook/rotate")
            }
            return hook
        }
        group.post(":id/hook/rotate") { request, context in
            let settings = try await request.decodeJSONIfPresent(as: HookSettings.self)
            let target = target(try context.parameters.require("id", as: Int64.self))
            return EditedResponse(status: .created, response: try await engine.rotateHook(for: target, signed: settings?.signed, by: context.user))
        }
        group.delete(":id/hook") { _, context -> HTTPResponse.Status in
            try await engine.deleteHook(for: target(try context.parameters.require("id", as: Int64.self)), by: context.user)
            return .noContent
        }
    }

    /// The optional body of `hook/rotate`.
    struct HookSettings: Codable {
        /// Whether deliveries must be signed; left out: as before (unsigned for a new hook).
        var signed: Bool?
    }

    /// The body becomes the run's input; `202` with what started, at once.
    @Sendable func deliver(_ request: Request, context: AppRequestContext) async throws -> EditedResponse<HookDelivery> {
        let key = try context.parameters.require("key")
        let buffer = try await request.body.collect(upTo: RunRequest.maxInputBytes)
        let delivery = try await engine.deliver(
            toHook: key,
            body: Data(buffer.readableBytesView),
            signature: HookSignature(
                cronium: request.headers[.croniumSignature],
                timestamp: request.headers[.croniumTimestamp],
                hub: request.headers[.hubSignature]
            )
        )
        return EditedResponse(status: .accepted, headers: [.location: delivery.location], response: delivery)
    }
}

extension HTTPField.Name {
    static let croniumSignature = Self("X-Cronium-Signature")!
    static let croniumTimestamp = Self("X-Cronium-Timestamp")!
    static let hubSignature = Self("X-Hub-Signature-256")!
}

extension Hook: ResponseEncodable {}
extension HookDelivery: ResponseEncodable {}

import CroniumCore
import CroniumEngine
import Hummingbird

/// `POST /api/v1/schedules/preview`: what a schedule would do before it is saved (the editors'
/// schedule builder): its next fire times, and the coming year's changes of the clocks that touch
/// its wall times.
struct ScheduleController {
    let engine: Engine

    func addRoutes(to group: RouterGroup<UserRequestContext>) {
        group.post("preview", use: preview)
    }

    /// Body: a schedule, as events and workflows hold it; `?count=` fire times (default 5, 1–100).
    @Sendable func preview(_ request: Request, context: UserRequestContext) async throws -> SchedulePreview {
        _ = context.user
        let count = try QueryParameters(request).integer("count", default: 5, in: 1...100)
        let schedule = try await request.decodeJSON(as: Schedule.self)
        return try engine.previewSchedule(schedule, count: count)
    }
}

extension SchedulePreview: ResponseEncodable {}

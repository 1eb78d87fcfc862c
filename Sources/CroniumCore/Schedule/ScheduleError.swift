/// Why a schedule (or a cron expression) cannot be used.
///
/// `field` is the JSON path a client has to fix (`schedule.cron`, `schedule.timeZone`, ...), so the
/// API layer can report it next to the offending input; `message` says what is wrong and how to fix it.
public struct ScheduleError: Error, Equatable, Sendable, CustomStringConvertible {
    public let field: String
    public let message: String

    public init(field: String, message: String) {
        self.field = field
        self.message = message
    }

    public var description: String { "\(field): \(message)" }

    /// A problem inside one field of a cron expression; the message starts with the cron field's name
    /// and text (`minute field '61': ...`) because the JSON field is the whole expression.
    static func cron(_ field: CronFieldKind, _ text: some StringProtocol, _ problem: String) -> ScheduleError {
        ScheduleError(field: "schedule.cron", message: "\(field.name) field '\(text)': \(problem)")
    }
}

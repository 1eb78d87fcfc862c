import Foundation

/// When an event fires: every N seconds, on a cron expression in a time zone, or once.
///
/// The four policies travel with the schedule so a client can set them per event; only the DST
/// policies affect fire times here, the misfire and overlap policies are for the engine.
public struct Schedule: Sendable, Codable, Equatable {
    public enum Kind: String, Sendable, ClosedSetCodable { case interval, cron, once }

    public var kind: Kind
    /// For `.interval`: seconds between fires, > 0. An absolute duration, so DST does not affect it.
    public var intervalSeconds: Int?
    /// For `.cron`: the expression (see `CronExpression`).
    public var cron: String?
    /// For `.once`: the fire time (required). Otherwise: no fire before this instant.
    public var startAt: Date?
    /// IANA zone id the cron expression is read in. Ignored by the other kinds, but still validated.
    public var timeZone: String
    public var dstGap: DSTGapPolicy
    public var dstOverlap: DSTOverlapPolicy
    public var misfire: MisfirePolicy
    public var overlap: OverlapPolicy

    public init(
        kind: Kind,
        intervalSeconds: Int? = nil,
        cron: String? = nil,
        startAt: Date? = nil,
        timeZone: String = "UTC",
        dstGap: DSTGapPolicy = .shift,
        dstOverlap: DSTOverlapPolicy = .once,
        misfire: MisfirePolicy = .last,
        overlap: OverlapPolicy = .skip
    ) {
        self.kind = kind
        self.intervalSeconds = intervalSeconds
        self.cron = cron
        self.startAt = startAt
        self.timeZone = timeZone
        self.dstGap = dstGap
        self.dstOverlap = dstOverlap
        self.misfire = misfire
        self.overlap = overlap
    }

    public static func interval(seconds: Int, startAt: Date? = nil, misfire: MisfirePolicy = .last, overlap: OverlapPolicy = .skip) -> Schedule {
        Schedule(kind: .interval, intervalSeconds: seconds, startAt: startAt, misfire: misfire, overlap: overlap)
    }

    public static func cron(
        _ expression: String,
        timeZone: String = "UTC",
        startAt: Date? = nil,
        dstGap: DSTGapPolicy = .shift,
        dstOverlap: DSTOverlapPolicy = .once,
        misfire: MisfirePolicy = .last,
        overlap: OverlapPolicy = .skip
    ) -> Schedule {
        Schedule(
            kind: .cron,
            cron: expression,
            startAt: startAt,
            timeZone: timeZone,
            dstGap: dstGap,
            dstOverlap: dstOverlap,
            misfire: misfire,
            overlap: overlap
        )
    }

    public static func once(at date: Date, misfire: MisfirePolicy = .last, overlap: OverlapPolicy = .skip) -> Schedule {
        Schedule(kind: .once, startAt: date, misfire: misfire, overlap: overlap)
    }

    /// Throws the first problem found. Fields that belong to another kind (a `cron` on an interval
    /// schedule, say) are rejected rather than ignored, since they usually mean the client meant
    /// another kind.
    public func validate() throws(ScheduleError) {
        _ = try resolved()
    }

    /// What the fire computations need, checked: the zone and, for cron, the parsed expression.
    func resolved() throws(ScheduleError) -> (zone: TimeZone, expression: CronExpression?) {
        guard let zone = TimeZone(identifier: timeZone) else {
            throw ScheduleError(
                field: "schedule.timeZone",
                message: "unknown time zone '\(timeZone)'; use an IANA id such as 'Europe/Berlin' or 'UTC'"
            )
        }
        if kind != .interval, intervalSeconds != nil {
            throw ScheduleError(field: "schedule.intervalSeconds", message: "only applies to kind 'interval', this schedule is '\(kind.rawValue)'")
        }
        if kind != .cron, cron != nil {
            throw ScheduleError(field: "schedule.cron", message: "only applies to kind 'cron', this schedule is '\(kind.rawValue)'")
        }
        switch kind {
        case .interval:
            guard let seconds = intervalSeconds else {
                throw ScheduleError(field: "schedule.intervalSeconds", message: "is required for kind 'interval'")
            }
            guard seconds > 0 else {
                throw ScheduleError(field: "schedule.intervalSeconds", message: "must be at least 1 second, got \(seconds)")
            }
            return (zone, nil)
        case .cron:
            guard let cron, !cron.allSatisfy(\.isWhitespace) else {
                throw ScheduleError(field: "schedule.cron", message: "is required for kind 'cron', e.g. '*/5 * * * *'")
            }
            return (zone, try CronExpression(cron))
        case .once:
            guard startAt != nil else {
                throw ScheduleError(field: "schedule.startAt", message: "is required for kind 'once': it is the fire time")
            }
            return (zone, nil)
        }
    }
}

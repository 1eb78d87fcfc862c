/// How long an event's finished runs and their logs are kept. A field left out takes the
/// server's default (`--keep-runs-days`, `--keep-last-runs`, `--keep-logs-days`); 0 switches that
/// limit off. A run goes when it is older than `runsDays` or is not among the `lastRuns` newest;
/// its log goes earlier when `logsDays` is shorter. Runs that have not ended are never removed.
public struct Retention: Codable, Sendable, Equatable {
    /// Days a run is kept after it ended.
    public var runsDays: Int?
    /// How many of the event's newest runs are kept, whatever their age.
    public var lastRuns: Int?
    /// Days a run's log is kept after it ended (the run itself may stay longer).
    public var logsDays: Int?

    public init(runsDays: Int? = nil, lastRuns: Int? = nil, logsDays: Int? = nil) {
        self.runsDays = runsDays
        self.lastRuns = lastRuns
        self.logsDays = logsDays
    }

    /// What a server keeps unless told otherwise: a run for 90 days, its log for 30, any number.
    public static let serverDefaults = Retention(runsDays: 90, lastRuns: 0, logsDays: 30)
    /// The longest day limit: a hundred years is "for ever" without being a special value.
    public static let maxDays = 36_500
    public static let maxLastRuns = 1_000_000

    /// Each field of `self`, else of `fallback`.
    public func filled(from fallback: Retention) -> Retention {
        Retention(runsDays: runsDays ?? fallback.runsDays, lastRuns: lastRuns ?? fallback.lastRuns, logsDays: logsDays ?? fallback.logsDays)
    }

    /// Every field out of range, named as `<field>.<name>`.
    public func problems(field: String) -> [FieldProblem] {
        let checks = [("runsDays", runsDays, Self.maxDays), ("lastRuns", lastRuns, Self.maxLastRuns), ("logsDays", logsDays, Self.maxDays)]
        return checks.compactMap { name, value, maximum in
            guard let value, !(0...maximum).contains(value) else { return nil }
            return FieldProblem(field: "\(field).\(name)", message: "must be between 0 (no limit) and \(maximum)")
        }
    }
}

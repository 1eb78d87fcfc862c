/// What to do with a cron wall time that does not exist because clocks spring forward.
public enum DSTGapPolicy: String, Sendable, ClosedSetCodable {
    /// Do not fire for the missing wall time.
    case skip
    /// Fire at the wall time moved forward by the gap length (02:30 in a 02:00→03:00 gap fires at
    /// 03:30), as java.time and Temporal's "compatible" disambiguation do. The default, because a
    /// daily job silently skipping a day is worse than running it an hour late.
    case shift
}

/// What to do with a cron wall time that happens twice because clocks fall back.
public enum DSTOverlapPolicy: String, Sendable, ClosedSetCodable {
    /// Fire at the first (earlier) instance only. The default: a daily 01:30 job runs once a day.
    case once
    /// Fire at both instances.
    case twice
}

/// What the engine does with occurrences that fell due while Cronium was down.
public enum MisfirePolicy: String, Sendable, ClosedSetCodable {
    /// Drop them all.
    case none
    /// Run the latest one only (the default).
    case last
    /// Run every one of them (bounded by the engine).
    case all
}

/// What the engine does when an occurrence falls due while the previous run is still going.
public enum OverlapPolicy: String, Sendable, ClosedSetCodable {
    /// Start another run alongside.
    case allow
    /// Drop the new occurrence (the default).
    case skip
    /// Start the new run when the current one ends.
    case queue
    /// Cancel the current run and start the new one.
    case replace
}

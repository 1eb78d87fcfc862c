import Foundation

/// Evaluating the expression in a time zone, with the DST rules:
///
/// - Wall times are matched on the zone's local clock.
/// - A wall time skipped by a forward transition (a "gap") fires, under `DSTGapPolicy.shift`, at
///   that wall time read with the offset in force before the gap, which is the wall time moved
///   forward by the gap length (02:30 in Berlin's 02:00→03:00 gap fires at 03:30 +02:00), as
///   java.time and Temporal's "compatible" do. Under `.skip` it does not fire. A shifted fire that
///   coincides with a real one is one fire.
/// - A wall time repeated by a backward transition (an "overlap") fires at its first instance
///   under `DSTOverlapPolicy.once` and at both under `.twice`. Expressions whose hour field is `*`
///   or `*/n` fire in both instances regardless, as Vixie cron runs wildcard jobs through the
///   repeated hour.
///
/// The search walks the zone's constant-offset segments in order (found with
/// `TimeZone.nextDaylightSavingTimeTransition(after:)`, which on Linux Foundation also reports
/// non-DST offset changes such as Europe/Volgograd's in 2020), because within one segment wall
/// time and real time move together and the plain wall-clock search applies.
extension CronExpression {
    /// How far ahead a search looks before concluding the expression will not fire.
    static let searchHorizon: Int64 = 5 * 366 * 86_400

    /// The first fire strictly after `date`, or nil if there is none within five years.
    public func nextFire(after date: Date, in timeZone: TimeZone, gap: DSTGapPolicy = .shift, overlap: DSTOverlapPolicy = .once) -> Date? {
        let lower = Int64(date.timeIntervalSince1970.rounded(.down)) + 1
        return fire(onOrAfter: lower, in: timeZone, gap: gap, overlap: overlap).map(Self.date)
    }

    /// The first fire at or after `date`, or nil if there is none within five years.
    public func firstFire(notBefore date: Date, in timeZone: TimeZone, gap: DSTGapPolicy = .shift, overlap: DSTOverlapPolicy = .once) -> Date? {
        let lower = Int64(date.timeIntervalSince1970.rounded(.up))
        return fire(onOrAfter: lower, in: timeZone, gap: gap, overlap: overlap).map(Self.date)
    }

    private static func date(_ seconds: Int64) -> Date { Date(timeIntervalSince1970: TimeInterval(seconds)) }

    /// The first fire at or after `lower` (Unix seconds).
    private func fire(onOrAfter lower: Int64, in zone: TimeZone, gap: DSTGapPolicy, overlap: DSTOverlapPolicy) -> Int64? {
        let horizon = lower + Self.searchHorizon
        // Start a day early so that a transition shortly before `lower` is seen with both of its
        // offsets: its gap or overlap may still produce fires at or after `lower`.
        var start = lower - 86_400
        var offset = Self.offset(zone, at: start)
        var previousOffset = offset
        while start < horizon {
            let end =
                zone.nextDaylightSavingTimeTransition(after: Self.date(start))
                .map { min(Int64($0.timeIntervalSince1970), horizon) } ?? horizon
            let segment = Segment(start: start, end: end, offset: offset, previousOffset: previousOffset)
            if let found = firstFire(in: segment, onOrAfter: lower, gap: gap, overlap: overlap) { return found }
            (start, previousOffset, offset) = (end, offset, Self.offset(zone, at: end))
        }
        return nil
    }

    /// Instants `[start, end)` during which the zone's offset is `offset`; `previousOffset` is the
    /// offset before `start`, which tells whether `start` is a gap (it grew) or an overlap (it shrank).
    private struct Segment {
        let start: Int64
        let end: Int64
        let offset: Int64
        let previousOffset: Int64
    }

    private func firstFire(in segment: Segment, onOrAfter lower: Int64, gap: DSTGapPolicy, overlap: DSTOverlapPolicy) -> Int64? {
        let from = max(lower, segment.start)
        guard from < segment.end else { return nil }
        var wallFrom = from + segment.offset
        if segment.previousOffset > segment.offset, overlap == .once, !followsRealTimeInOverlap {
            // Wall times before start + previousOffset already happened in the previous segment.
            wallFrom = max(wallFrom, segment.start + segment.previousOffset)
        }
        let regular = firstWallMatch(from: wallFrom, before: segment.end + segment.offset)
            .map { $0 - segment.offset }
        guard segment.previousOffset < segment.offset, gap == .shift else { return regular }
        // Wall times in [start + previousOffset, start + offset) never showed on the clock; read
        // them with the old offset, which lands them just after the transition.
        let shifted = firstWallMatch(from: from + segment.previousOffset, before: segment.start + segment.offset)
            .map { $0 - segment.previousOffset }
        return [regular, shifted].compactMap(\.self).min()
    }

    private static func offset(_ zone: TimeZone, at seconds: Int64) -> Int64 {
        Int64(zone.secondsFromGMT(for: date(seconds)))
    }
}

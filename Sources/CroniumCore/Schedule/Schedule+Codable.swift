import Foundation

/// Decoding fills in defaults for `timeZone` and the policies, so a client can send as little as
/// `{"kind":"cron","cron":"*/5 * * * *"}`. Encoding writes every field that has a value (the
/// policies and zone always; nil optionals are left out), so stored schedules are explicit.
extension Schedule {
    private enum CodingKeys: String, CodingKey {
        case kind, intervalSeconds, cron, startAt, timeZone, dstGap, dstOverlap, misfire, overlap
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            kind: try c.decode(Kind.self, forKey: .kind),
            intervalSeconds: try c.decodeIfPresent(Int.self, forKey: .intervalSeconds),
            cron: try c.decodeIfPresent(String.self, forKey: .cron),
            startAt: try c.decodeIfPresent(Date.self, forKey: .startAt),
            timeZone: try c.decodeIfPresent(String.self, forKey: .timeZone) ?? "UTC",
            dstGap: try c.decodeIfPresent(DSTGapPolicy.self, forKey: .dstGap) ?? .shift,
            dstOverlap: try c.decodeIfPresent(DSTOverlapPolicy.self, forKey: .dstOverlap) ?? .once,
            misfire: try c.decodeIfPresent(MisfirePolicy.self, forKey: .misfire) ?? .last,
            overlap: try c.decodeIfPresent(OverlapPolicy.self, forKey: .overlap) ?? .skip
        )
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(kind, forKey: .kind)
        try c.encodeIfPresent(intervalSeconds, forKey: .intervalSeconds)
        try c.encodeIfPresent(cron, forKey: .cron)
        try c.encodeIfPresent(startAt, forKey: .startAt)
        try c.encode(timeZone, forKey: .timeZone)
        try c.encode(dstGap, forKey: .dstGap)
        try c.encode(dstOverlap, forKey: .dstOverlap)
        try c.encode(misfire, forKey: .misfire)
        try c.encode(overlap, forKey: .overlap)
    }
}

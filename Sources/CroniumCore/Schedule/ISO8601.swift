import Foundation

/// Formats `date` as ISO 8601 in `timeZone` with seconds precision (fractions are truncated) and
/// the zone's offset at that instant: `2027-03-28T03:30:00+02:00`.
///
/// The suffix is `Z` only when the zone itself is UTC/GMT (`UTC`, `GMT`, `Etc/UTC`, `Etc/GMT`);
/// a zone that merely has offset zero at the moment (Europe/London in winter) gets `+00:00`, so
/// the text still tells a reader that the zone has an offset that can change. Offsets with a
/// seconds part (pre-1900 local mean time) are written `+HH:MM:SS`.
public func formatISO8601(_ date: Date, timeZone: TimeZone) -> String {
    let instant = Int64(date.timeIntervalSince1970.rounded(.down))
    let offset = timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(instant)))
    let t = CronCivilTime(wallSeconds: instant + Int64(offset))
    let body = "\(pad(t.year, 4))-\(pad(t.month))-\(pad(t.day))T\(pad(t.hour)):\(pad(t.minute)):\(pad(t.second))"
    if ["UTC", "GMT", "Etc/UTC", "Etc/GMT"].contains(timeZone.identifier) { return body + "Z" }
    let magnitude = abs(offset)
    var suffix = "\(offset < 0 ? "-" : "+")\(pad(magnitude / 3_600)):\(pad(magnitude % 3_600 / 60))"
    if magnitude % 60 != 0 { suffix += ":\(pad(magnitude % 60))" }
    return body + suffix
}

/// Zero-padded decimal.
private func pad(_ value: Int, _ width: Int = 2) -> String {
    let digits = String(value)
    return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
}

import Foundation
import Synchronization

/// Order statistics of a sample, in the unit the samples were taken in.
struct Summary: Codable, Sendable {
    var count: Int
    var p50: Double
    var p99: Double
    var max: Double

    init(_ samples: [Double]) {
        let sorted = samples.sorted()
        count = sorted.count
        p50 = Self.percentile(sorted, 0.50)
        p99 = Self.percentile(sorted, 0.99)
        max = sorted.last ?? .nan
    }

    /// Nearest-rank percentile: a value that was actually observed.
    static func percentile(_ sorted: [Double], _ p: Double) -> Double {
        guard !sorted.isEmpty else { return .nan }
        let rank = Int((p * Double(sorted.count)).rounded(.up))
        return sorted[Swift.max(0, Swift.min(sorted.count - 1, rank - 1))]
    }
}

/// One row of the report: what was measured, its value, the raw baseline of the same work
/// measured in the same run (when there is one), and the target it is held to.
struct BenchResult: Codable, Sendable {
    var id: String
    var metric: String
    var value: Double
    var unit: String
    var baseline: Double?
    var target: String
    var pass: Bool?
    var detail: String?
}

func milliseconds(_ duration: Duration) -> Double {
    let (seconds, attoseconds) = duration.components
    return Double(seconds) * 1000 + Double(attoseconds) / 1e15
}

func format(_ value: Double) -> String {
    if value.isNaN { return "-" }
    if abs(value) >= 100 { return String(format: "%.0f", value) }
    if abs(value) >= 10 { return String(format: "%.1f", value) }
    return String(format: "%.3f", value)
}

/// Prints the table for people, then the same rows as JSON for machines.
func report(_ results: [BenchResult]) {
    let header = ["id", "metric", "value", "unit", "raw baseline", "target", "verdict"]
    let rows = results.map { r in
        [r.id, r.metric, format(r.value), r.unit, r.baseline.map(format) ?? "", r.target, r.pass.map { $0 ? "ok" : "MISSED" } ?? ""]
    }
    let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
    func line(_ cells: [String]) -> String {
        cells.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }.joined(separator: "  ")
    }
    print(line(header))
    print(widths.map { String(repeating: "-", count: $0) }.joined(separator: "  "))
    for row in rows { print(line(row)) }
    for result in results { if let detail = result.detail { print("  \(result.id): \(detail)") } }
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
    print(String(decoding: (try? encoder.encode(results)) ?? Data(), as: UTF8.self))
}

/// Samples taken from several tasks at once.
final class SampleSink: Sendable {
    private let samples = Mutex<[Double]>([])
    func add(_ value: Double) { samples.withLock { $0.append(value) } }
    var values: [Double] { samples.withLock { $0 } }
}

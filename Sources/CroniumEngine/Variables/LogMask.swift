import Foundation
import Synchronization

/// Replaces the values of a user's secrets with `***` in a run's log lines, before they are
/// stored or streamed. Lines are whole when they get here (the line splitter joined what the
/// script wrote in pieces), so a secret written in two writes is masked too. A secret of several
/// lines is masked line by line; values shorter than ``minimumLength`` are not masked (they would
/// hide every such word of the log).
public final class LogMask: Sendable {
    public static let minimumLength = 3
    public static let replacement = "***"
    private let values: Mutex<[String]>

    public init(secrets: [String]) {
        values = Mutex(Self.maskable(secrets))
    }

    /// A secret set while the run goes on (through its helpers) is masked from then on.
    public func add(_ secret: String) {
        values.withLock { $0 = Self.maskable($0 + [secret]) }
    }

    public var isEmpty: Bool { values.withLock { $0.isEmpty } }

    public func mask(_ lines: [String]) -> [String] {
        let values = self.values.withLock { $0 }
        guard !values.isEmpty else { return lines }
        return lines.map { line in
            var line = line
            for value in values where line.contains(value) {
                line = line.replacingOccurrences(of: value, with: Self.replacement)
            }
            return line
        }
    }

    /// Each line of each secret, longest first (so a secret that contains another is masked whole).
    private static func maskable(_ secrets: [String]) -> [String] {
        let lines = secrets.flatMap { $0.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) } }
        return Set(lines.filter { $0.count >= minimumLength }).sorted { $0.count != $1.count ? $0.count > $1.count : $0 < $1 }
    }
}

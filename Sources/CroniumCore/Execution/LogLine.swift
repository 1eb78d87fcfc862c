import Foundation

public enum LogStream: String, Codable, Sendable {
    case stdout
    case stderr
    /// Lines Cronium itself writes into a run's log (start, timeout, truncation notes).
    case system
}

/// One line of a run's output, stamped when it was read.
public struct LogLine: Codable, Sendable, Equatable {
    /// Position in the run's log, from 1, without gaps: clients page and resume by it.
    public var seq: Int
    public var time: Date
    public var stream: LogStream
    public var text: String

    public init(seq: Int, time: Date, stream: LogStream, text: String) {
        self.seq = seq
        self.time = time
        self.stream = stream
        self.text = text
    }
}

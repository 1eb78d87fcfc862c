import CroniumCore
import Foundation

/// One message of the live log WebSocket: a line, or the run's final status (always last).
/// Shared by the server, which sends it, and the CLI, which reads it. (A refused stream sends a
/// problem document instead, as its only message.)
public struct LogStreamMessage: Codable, Sendable, Equatable {
    /// `line`, `lines` (several at once, for a client that asked with `?batch=true`), or `finished`.
    public var type: String
    public var seq: Int?
    public var time: Date?
    public var stream: LogStream?
    public var text: String?
    public var status: ExecutionStatus?
    /// The lines of a `lines` message, in order.
    public var lines: [LogLine]?

    public init(type: String, seq: Int? = nil, time: Date? = nil, stream: LogStream? = nil, text: String? = nil, status: ExecutionStatus? = nil) {
        self.type = type
        self.seq = seq
        self.time = time
        self.stream = stream
        self.text = text
        self.status = status
    }

    /// Lines that arrived together, as one message: a browser handles one message of a thousand
    /// lines far faster than a thousand messages.
    public static func lines(_ lines: [LogLine]) -> LogStreamMessage {
        var message = LogStreamMessage(type: "lines")
        message.lines = lines
        return message
    }

    public static func line(_ line: LogLine) -> LogStreamMessage {
        LogStreamMessage(type: "line", seq: line.seq, time: line.time, stream: line.stream, text: line.text)
    }

    /// The line this message carries, if it is one.
    public var logLine: LogLine? {
        guard type == "line", let seq, let stream else { return nil }
        return LogLine(seq: seq, time: time ?? Date(), stream: stream, text: text ?? "")
    }
}

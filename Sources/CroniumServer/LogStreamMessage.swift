import CroniumCore
import Foundation

/// One message of the live log WebSocket: a line, or the run's final status (always last), or
/// the problem that refused the stream (its only message). Shared by the server, which sends it,
/// and the CLI, which reads it.
public struct LogStreamMessage: Codable, Sendable, Equatable {
    /// `line`, `finished`, or a problem's `urn:cronium:problem:<CODE>`.
    public var type: String
    /// A problem's sentence.
    public var detail: String?
    public var seq: Int?
    public var time: Date?
    public var stream: LogStream?
    public var text: String?
    public var status: ExecutionStatus?

    public init(type: String, seq: Int? = nil, time: Date? = nil, stream: LogStream? = nil, text: String? = nil, status: ExecutionStatus? = nil) {
        self.type = type
        self.seq = seq
        self.time = time
        self.stream = stream
        self.text = text
        self.status = status
    }

    public static func line(_ line: LogLine) -> LogStreamMessage {
        LogStreamMessage(type: "line", seq: line.seq, time: line.time, stream: line.stream, text: line.text)
    }

    /// Why the stream was refused, when this message is a problem.
    public var refusal: String? { type.hasPrefix("urn:cronium:problem:") ? detail ?? type : nil }

    /// The line this message carries, if it is one.
    public var logLine: LogLine? {
        guard type == "line", let seq, let stream else { return nil }
        return LogLine(seq: seq, time: time ?? Date(), stream: stream, text: text ?? "")
    }
}

import Foundation
import Logging

/// How `serve` writes its log lines: for a person at a terminal, or one JSON object a line for a
/// collector. `auto` picks JSON under journald (systemd sets `JOURNAL_STREAM` for a service whose
/// output goes to the journal), where the lines are read by tools rather than people.
enum LogFormat: String {
    case human, json, auto

    func resolved(environment: [String: String]) -> LogFormat {
        guard self == .auto else { return self }
        return environment["JOURNAL_STREAM"] != nil ? .json : .human
    }
}

/// The server's log lines on stderr, each written whole in one `write(2)`, so that lines of
/// concurrent tasks never interleave.
///
///     15:04:05.123 info  applied migration db.migration=20 deliveries by tool
///     {"time":"2026-12-07T15:04:05.123Z","level":"info","message":"applied migration","db.migration":"20 deliveries by tool"}
struct ServerLogHandler: LogHandler {
    let format: LogFormat
    var logLevel: Logger.Level
    var metadata: Logger.Metadata = [:]

    init(format: LogFormat, level: Logger.Level) {
        self.format = format
        logLevel = level
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var fields = metadata
        if let extra = event.metadata { fields.merge(extra) { $1 } }
        let line =
            format == .json
            ? Self.json(time: Date(), level: event.level, message: "\(event.message)", fields: fields)
            : Self.human(time: Date(), level: event.level, message: "\(event.message)", fields: fields)
        var bytes = Array(line.utf8)
        bytes.append(0x0A)
        bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = Foundation.write(STDERR_FILENO, buffer.baseAddress! + offset, buffer.count - offset)
                if written < 0 && errno == EINTR { continue }
                guard written > 0 else { return }
                offset += written
            }
        }
    }

    static func human(time: Date, level: Logger.Level, message: String, fields: Logger.Metadata) -> String {
        let clock = timestamp(time).dropFirst(11).prefix(12)
        let name = level.rawValue.padding(toLength: 7, withPad: " ", startingAt: 0)
        let pairs = fields.sorted { $0.key < $1.key }.map { " \($0.key)=\($0.value)" }.joined()
        return "\(clock) \(name) \(message)\(pairs)"
    }

    /// `2026-12-07T15:04:05.123Z`: UTC, as servers' logs are compared across machines.
    private static func timestamp(_ time: Date) -> String {
        time.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }

    static func json(time: Date, level: Logger.Level, message: String, fields: Logger.Metadata) -> String {
        var object: [String: String] = [:]
        for (key, value) in fields { object[key] = "\(value)" }
        object["time"] = timestamp(time)
        object["level"] = level.rawValue
        object["message"] = message
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }
}

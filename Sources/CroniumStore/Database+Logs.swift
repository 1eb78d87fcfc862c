import CroniumCore
import Foundation
import SQLKit

extension Database {
    /// Stores a batch of lines in one statement; the log hub calls this with what piled up since
    /// its last write, so a chatty script costs one write per batch, not per line.
    public func appendLogLines(executionId: ExecutionID, _ lines: [LogLine]) async throws {
        guard !lines.isEmpty else { return }
        var query = SQLQueryString("INSERT INTO log_lines (execution_id, seq, ts, stream, text) VALUES ")
        query.appendRows(lines.lazy.map { [executionId.rawValue, Int64($0.seq), $0.time.millis, $0.stream.rawValue, $0.text] })
        let finalQuery = query
        try await transaction { sql in try await sql.raw(finalQuery).run() }
    }

    /// Lines after `afterSeq`, in order, at most `limit`.
    public func logLines(executionId: ExecutionID, afterSeq: Int = 0, limit: Int = 1000) async throws -> [LogLine] {
        try await read { sql in
            try await sql.raw(
                """
                SELECT seq, ts, stream, text FROM log_lines WHERE execution_id = \(bind: executionId) AND seq > \(bind: afterSeq)
                ORDER BY seq LIMIT \(bind: limit)
                """
            ).all().map {
                LogLine(
                    seq: try $0.decode(column: "seq", as: Int.self),
                    time: Date(millis: try $0.decode(column: "ts", as: Int64.self)),
                    stream: try $0.decode(column: "stream", as: LogStream.self),
                    text: try $0.decode(column: "text", as: String.self))
            }
        }
    }
}

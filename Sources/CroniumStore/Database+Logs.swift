import CroniumCore
import Foundation
import SQLKit

extension Database {
    /// Stores a batch of lines in one transaction, in statements of at most ``logRowsPerStatement``
    /// rows; the log hub calls this with what piled up since its last write, so a chatty script
    /// costs one write per batch, not per line.
    public func appendLogLines(executionId: ExecutionID, _ lines: [LogLine]) async throws {
        guard !lines.isEmpty else { return }
        try await transaction { sql in try await Self.insertLogLines(executionId: executionId, lines, in: sql) }
    }

    static func insertLogLines(executionId: ExecutionID, _ lines: [LogLine], in sql: any SQLDatabase) async throws {
        for start in stride(from: 0, to: lines.count, by: logRowsPerStatement) {
            var query = SQLQueryString("INSERT INTO log_lines (execution_id, seq, ts, stream, text) VALUES ")
            query.appendRows(
                lines[start..<min(start + logRowsPerStatement, lines.count)].lazy.map {
                    [executionId.rawValue, Int64($0.seq), $0.time.millis, $0.stream.rawValue, $0.text]
                }
            )
            try await sql.raw(query).run()
        }
    }

    /// Five values a row: 10,000 rows stay under SQLite's 250,000 bound values a statement (a
    /// burst of 2 MB of short lines is one batch of 77,000 rows) and PostgreSQL's 65,535.
    static let logRowsPerStatement = 10_000

    /// The last `count` lines (the run's system lines too), in order.
    public func lastLogLines(executionId: ExecutionID, count: Int) async throws -> [LogLine] {
        let lines = try await read { sql in
            try await sql.raw(
                "SELECT seq, ts, stream, text FROM log_lines WHERE execution_id = \(bind: executionId) ORDER BY seq DESC LIMIT \(bind: count)"
            ).all().map(Self.decodeLogLine)
        }
        return lines.reversed()
    }

    /// Lines after `afterSeq`, in order, at most `limit`.
    public func logLines(executionId: ExecutionID, afterSeq: Int = 0, limit: Int = 1000) async throws -> [LogLine] {
        try await read { sql in
            try await sql.raw(
                """
                SELECT seq, ts, stream, text FROM log_lines WHERE execution_id = \(bind: executionId) AND seq > \(bind: afterSeq)
                ORDER BY seq LIMIT \(bind: limit)
                """
            ).all().map(Self.decodeLogLine)
        }
    }

    static func decodeLogLine(_ row: any SQLRow) throws -> LogLine {
        LogLine(
            seq: try row.decode(column: "seq", as: Int.self),
            time: Date(millis: try row.decode(column: "ts", as: Int64.self)),
            stream: try row.decode(column: "stream", as: LogStream.self),
            text: try row.decode(column: "text", as: String.self)
        )
    }
}

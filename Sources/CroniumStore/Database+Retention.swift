import CroniumCore
import Foundation
import SQLKit

extension Database: RetentionStore {
    public func retentionOverrides() async throws -> [EventID: Retention] {
        try await read { sql in
            var overrides: [EventID: Retention] = [:]
            for row in try await sql.raw("SELECT id, retention FROM events WHERE retention IS NOT NULL").all() {
                let text = try row.decode(column: "retention", as: String.self)
                overrides[try row.decode(column: "id", as: EventID.self)] = try JSONDecoder().decode(Retention.self, from: Data(text.utf8))
            }
            return overrides
        }
    }

    public func agedRows(_ kind: AgedRows, after: Int64, limit: Int) async throws -> [AgedRow] {
        let select: SQLQueryString =
            switch kind {
            case .runs:
                """
                SELECT id, event_id AS owner, created_at AS created, finished_at AS ended FROM executions
                WHERE id > \(bind: after) AND part_of IS NULL AND workflow_run_id IS NULL ORDER BY id LIMIT \(bind: limit)
                """
            case .logs:
                // The partial index `executions_holding_logs` holds exactly these rows.
                """
                SELECT id, event_id AS owner, created_at AS created, finished_at AS ended FROM executions
                WHERE logs_removed_at IS NULL AND id > \(bind: after) ORDER BY id LIMIT \(bind: limit)
                """
            case .workflowRuns:
                """
                SELECT id, workflow_id AS owner, created_at AS created, finished_at AS ended FROM workflow_runs
                WHERE id > \(bind: after) ORDER BY id LIMIT \(bind: limit)
                """
            case .eventLedger:
                """
                SELECT id, event_id AS owner, recorded_at AS created, recorded_at AS ended FROM schedule_ledger
                WHERE id > \(bind: after) ORDER BY id LIMIT \(bind: limit)
                """
            case .workflowLedger:
                """
                SELECT id, workflow_id AS owner, recorded_at AS created, recorded_at AS ended FROM workflow_ledger
                WHERE id > \(bind: after) ORDER BY id LIMIT \(bind: limit)
                """
            }
        return try await read { sql in
            try await sql.raw(select).all().map { row in
                AgedRow(
                    id: try row.decode(column: "id", as: Int64.self),
                    owner: try row.decode(column: "owner", as: Int64.self),
                    created: Date(millis: try row.decode(column: "created", as: Int64.self)),
                    ended: try row.decode(column: "ended", as: Int64?.self).map(Date.init(millis:))
                )
            }
        }
    }

    public func runsBeyond(newest keeping: Int, eventId: EventID, limit: Int) async throws -> [Int64] {
        try await read { sql in
            try await sql.raw(
                """
                SELECT id FROM executions WHERE event_id = \(bind: eventId) AND part_of IS NULL AND workflow_run_id IS NULL
                  AND finished_at IS NOT NULL AND id <= (
                    SELECT id FROM executions WHERE event_id = \(bind: eventId) AND part_of IS NULL AND workflow_run_id IS NULL
                    ORDER BY id DESC LIMIT 1 OFFSET \(bind: keeping))
                ORDER BY id LIMIT \(bind: limit)
                """
            ).all(decodingColumn: "id", as: Int64.self)
        }
    }

    public func purge(_ kind: AgedRows, ids: [Int64], note: String, at time: Date) async throws -> Int {
        guard !ids.isEmpty else { return 0 }
        return try await transaction { sql in
            switch kind {
            case .runs:
                try await sql.raw(
                    "DELETE FROM executions WHERE part_of IN (SELECT id FROM executions WHERE id IN (\(binds: ids)) AND finished_at IS NOT NULL)"
                ).run()
                return try await Self.deleted(sql, "DELETE FROM executions WHERE id IN (\(binds: ids)) AND finished_at IS NOT NULL RETURNING id")
            case .logs:
                let holding = try await sql.raw(
                    "SELECT DISTINCT execution_id FROM log_lines WHERE execution_id IN (SELECT id FROM executions WHERE id IN (\(binds: ids)) AND finished_at IS NOT NULL)"
                ).all(decodingColumn: "execution_id", as: Int64.self)
                if !holding.isEmpty {
                    try await sql.raw("DELETE FROM log_lines WHERE execution_id IN (\(binds: holding))").run()
                    var insert = SQLQueryString("INSERT INTO log_lines (execution_id, seq, ts, stream, text) VALUES ")
                    insert.appendRows(holding.map { [$0, Int64(1), time.millis, LogStream.system.rawValue, note] })
                    try await sql.raw(insert).run()
                }
                return try await Self.deleted(
                    sql,
                    "UPDATE executions SET logs_removed_at = \(bind: time.millis) WHERE id IN (\(binds: ids)) AND finished_at IS NOT NULL RETURNING id"
                )
            case .workflowRuns:
                let ended: SQLQueryString = "SELECT id FROM workflow_runs WHERE id IN (\(binds: ids)) AND finished_at IS NOT NULL"
                try await sql.raw("DELETE FROM executions WHERE part_of IN (SELECT id FROM executions WHERE workflow_run_id IN (\(ended)))").run()
                try await sql.raw("DELETE FROM executions WHERE workflow_run_id IN (\(ended))").run()
                return try await Self.deleted(sql, "DELETE FROM workflow_runs WHERE id IN (\(binds: ids)) AND finished_at IS NOT NULL RETURNING id")
            case .eventLedger:
                return try await Self.deleted(sql, "DELETE FROM schedule_ledger WHERE id IN (\(binds: ids)) RETURNING id")
            case .workflowLedger:
                return try await Self.deleted(sql, "DELETE FROM workflow_ledger WHERE id IN (\(binds: ids)) RETURNING id")
            }
        }
    }

    private static func deleted(_ sql: any SQLDatabase, _ statement: SQLQueryString) async throws -> Int {
        try await sql.raw(statement).all().count
    }

    public func shrink(pages: Int) async throws -> (freed: Int64, freePagesLeft: Int) {
        try await transaction { sql in
            func pragma(_ name: String) async throws -> Int64 {
                try await sql.raw("PRAGMA \(unsafeRaw: name)").first(decodingColumn: name, as: Int64.self) ?? 0
            }
            let before = try await pragma("page_count")
            try await sql.raw("PRAGMA incremental_vacuum(\(unsafeRaw: String(max(pages, 1))))").run()
            return ((before - (try await pragma("page_count"))) * (try await pragma("page_size")), Int(try await pragma("freelist_count")))
        }
    }

    public func storageFigures() async throws -> StorageFigures {
        try await read { sql in
            func number(_ query: SQLQueryString, _ column: String) async throws -> Int64 {
                try await sql.raw(query).first(decodingColumn: column, as: Int64?.self).flatMap { $0 } ?? 0
            }
            let pageSize = try await number("PRAGMA page_size", "page_size")
            return StorageFigures(
                databaseBytes: try await number("PRAGMA page_count", "page_count") * pageSize,
                freeBytes: try await number("PRAGMA freelist_count", "freelist_count") * pageSize,
                runs: try await number("SELECT count(*) AS n FROM executions", "n"),
                logBytes: try await number("SELECT sum(log_bytes) AS n FROM executions WHERE logs_removed_at IS NULL", "n")
            )
        }
    }
}

import CroniumCore
import Foundation
import Logging
import SQLKit

/// Cronium's database: one connection for writes, serialized, and one for reads.
///
/// Writes go through one lock: SQLite permits a single writer, and sharing one connection means a
/// transaction must own it from `BEGIN` to `COMMIT`. Reads take a second connection with a lock
/// of its own, so that the API's reads (a token, an event) never wait behind the dispatcher's
/// writes; in WAL mode they see every committed write.
public final class Database: Sendable {
    public let dialect: Dialect
    let sql: any SQLDatabase
    private let mutex = AsyncMutex()
    private let reader: any SQLDatabase
    private let readMutex = AsyncMutex()
    private let close: @Sendable () async throws -> Void
    /// Where transactions and reads run: SQLite's own threads (``SQLiteThread``).
    private let writeExecutor: any TaskExecutor
    private let readExecutor: any TaskExecutor
    /// Decoded definitions of workflow runs, read once per run.
    let workflowDefinitions = WorkflowDefinitions()

    init(
        dialect: Dialect,
        sql: any SQLDatabase,
        reader: (any SQLDatabase)? = nil,
        executors: (write: any TaskExecutor, read: any TaskExecutor),
        close: @escaping @Sendable () async throws -> Void
    ) {
        self.dialect = dialect
        self.sql = sql
        self.reader = reader ?? sql
        self.close = close
        writeExecutor = executors.write
        readExecutor = executors.read
    }

    /// Opens (creating if needed) the SQLite database at `path`, in WAL mode, and applies
    /// migrations, each recorded as applied by `writtenBy` (a release's version); up to schema
    /// `through` only for tests that make a database of an older release.
    public static func openSQLite(path: String, writtenBy: String = "unknown", through: Int = .max, logger: Logger) async throws -> Database {
        let writer = try SQLiteHandle(path: path)
        let sql = SQLiteDirectDatabase(handle: writer, logger: logger)
        try await enableIncrementalVacuum(sql, logger: logger)
        for pragma in [
            "PRAGMA journal_mode = WAL",
            // NORMAL in WAL mode loses nothing on a crash of the process, only on power loss, and
            // saves an fsync per commit.
            "PRAGMA synchronous = NORMAL",
            "PRAGMA foreign_keys = ON",
            "PRAGMA busy_timeout = 5000",
        ] {
            try await sql.raw(SQLQueryString(pragma)).run()
        }
        // Migrations first, on the writer alone: the reader opens a database in its final shape.
        let executors = (write: SQLiteThread.writer as any TaskExecutor, read: SQLiteThread.reader as any TaskExecutor)
        // Its reads go to the writer's connection, so they run on the writer's thread too.
        try await Migrations.apply(
            to: Database(dialect: .sqlite, sql: sql, executors: (executors.write, executors.write)) {},
            writtenBy: writtenBy,
            through: through,
            logger: logger
        )
        let readHandle = try SQLiteHandle(path: path)
        let reader = SQLiteDirectDatabase(handle: readHandle, logger: logger)
        for pragma in ["PRAGMA query_only = ON", "PRAGMA busy_timeout = 5000"] {
            try await reader.raw(SQLQueryString(pragma)).run()
        }
        return Database(dialect: .sqlite, sql: sql, reader: reader, executors: executors) {
            readHandle.close()
            writer.close()
        }
    }

    /// Lets the retention purge give free pages back to the file system (`shrink(pages:)`). A
    /// new file is made so before its first table; one made by an earlier release is rewritten
    /// once (`VACUUM`, which needs as much free disk as the file's size), which is logged.
    private static func enableIncrementalVacuum(_ sql: any SQLDatabase, logger: Logger) async throws {
        let incremental = 2
        guard try await sql.raw("PRAGMA auto_vacuum").first(decodingColumn: "auto_vacuum", as: Int.self) != incremental else { return }
        let tables = try await sql.raw("SELECT count(*) AS n FROM sqlite_master").first(decodingColumn: "n", as: Int.self) ?? 0
        try await sql.raw("PRAGMA auto_vacuum = INCREMENTAL").run()
        guard tables > 0 else { return }
        let pages = try await sql.raw("PRAGMA page_count").first(decodingColumn: "page_count", as: Int.self) ?? 0
        logger.notice("rewriting the database once so that it can shrink after a purge", metadata: ["db.pages": "\(pages)"])
        try await sql.raw("VACUUM").run()
    }

    /// Closes both connections once the transaction and the read going on (if any) are done.
    public func shutdown() async throws {
        try await mutex.withLock { try await readMutex.withLock { try await close() } }
    }

    /// Runs `body` inside one write transaction; any thrown error rolls everything back.
    func transaction<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        try await withTaskExecutorPreference(writeExecutor) { try await locked(body) }
    }

    private func locked<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        try await mutex.withLock {
            try await sql.raw(SQLQueryString(dialect.beginWrite)).run()
            do {
                let value = try await body(sql)
                try await sql.raw("COMMIT").run()
                return value
            } catch {
                try? await sql.raw("ROLLBACK").run()
                throw error
            }
        }
    }

    /// Runs reads on the read connection (one reader at a time), beside any write.
    func read<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        try await withTaskExecutorPreference(readExecutor) { try await readMutex.withLock { try await body(reader) } }
    }
}

extension Date {
    /// Times are stored as whole milliseconds since 1970, which both dialects hold exactly in a BIGINT.
    var millis: Int64 { Int64((timeIntervalSince1970 * 1000).rounded()) }
    init(millis: Int64) { self.init(timeIntervalSince1970: Double(millis) / 1000) }
}

extension Array {
    /// Consecutive slices of at most `size` elements: so that one statement's bound values stay
    /// well under SQLite's limit of 32,766, or one transaction short.
    public func slices(of size: Int) -> [ArraySlice<Element>] {
        stride(from: 0, to: count, by: size).map { self[$0..<Swift.min($0 + size, count)] }
    }
}

extension SQLQueryString {
    /// Appends `(…), (…)`: one parenthesised list of bound values per row, for a multi-row `VALUES`.
    mutating func appendRows(_ rows: some Sequence<[any Encodable & Sendable]>) {
        for (index, row) in rows.enumerated() {
            appendInterpolation(unsafeRaw: index == 0 ? "(" : ", (")
            appendInterpolation(binds: row)
            appendInterpolation(unsafeRaw: ")")
        }
    }
}

extension Optional {
    /// The value a statement had to return (an `INSERT … RETURNING id`), or an error saying what
    /// was missing, instead of a crash.
    func required(_ what: @autoclosure () -> String) throws -> Wrapped {
        guard let self else { throw StoreFailure(.missingRow, "the database returned no \(what())") }
        return self
    }
}

/// The database did not answer as a statement promised; a fault, logged by the caller.
public struct StoreFailure: Error, CustomStringConvertible {
    public enum Code: Sendable {
        /// A statement that must return a row (`INSERT … RETURNING`) returned none.
        case missingRow
        /// A statement returned another number of rows than it was given.
        case rowCount
        /// A row lacks a column that its statement selects.
        case missingColumn
        /// A newer release has migrated the database further than this one knows.
        case schemaTooNew
        /// SQLite's integrity check found the file damaged.
        case damaged
    }
    public let code: Code
    public let description: String
    public init(_ code: Code, _ description: String) {
        self.code = code
        self.description = description
    }
}

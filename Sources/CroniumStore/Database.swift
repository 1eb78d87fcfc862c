import Foundation
import CroniumCore
import Logging
import SQLKit
import SQLiteKit
import SQLiteNIO

/// A connection to Cronium's database with serialized writes.
///
/// Every statement goes through one lock: SQLite permits a single writer, and sharing one
/// connection means a transaction must own it from `BEGIN` to `COMMIT`.
public final class Database: Sendable {
    public let dialect: Dialect
    let sql: any SQLDatabase
    private let mutex = AsyncMutex()
    private let close: @Sendable () async throws -> Void

    init(dialect: Dialect, sql: any SQLDatabase, close: @escaping @Sendable () async throws -> Void) {
        self.dialect = dialect
        self.sql = sql
        self.close = close
    }

    /// Opens (creating if needed) the SQLite database at `path`, in WAL mode, and applies migrations.
    public static func openSQLite(path: String, logger: Logger) async throws -> Database {
        let connection = try await SQLiteConnection.open(storage: .file(path: path), logger: logger)
        let sql = connection.sql(queryLogLevel: nil)
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
        let database = Database(dialect: .sqlite, sql: sql) { try await connection.close() }
        try await Migrations.apply(to: database, logger: logger)
        return database
    }

    public func shutdown() async throws { try await close() }

    /// Runs `body` inside one write transaction; any thrown error rolls everything back.
    func transaction<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
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

    /// Runs reads (or a single self-contained statement) without interleaving with a transaction.
    func read<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        try await mutex.withLock { try await body(sql) }
    }
}

extension Date {
    /// Times are stored as whole milliseconds since 1970, which both dialects hold exactly in a BIGINT.
    var millis: Int64 { Int64((timeIntervalSince1970 * 1000).rounded()) }
    init(millis: Int64) { self.init(timeIntervalSince1970: Double(millis) / 1000) }
}

extension Optional {
    /// The value a statement had to return (an `INSERT … RETURNING id`), or an error saying what
    /// was missing, instead of a crash.
    func required(_ what: @autoclosure () -> String) throws -> Wrapped {
        guard let self else { throw StoreFailure("the database returned no \(what())") }
        return self
    }
}

/// The database did not answer as a statement promised; a fault, logged by the caller.
struct StoreFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

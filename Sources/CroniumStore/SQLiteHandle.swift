import CCroniumSQLite
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import SQLiteNIO
import VaporCSQLite

/// One SQLite connection that runs each statement on the calling thread, its statements prepared
/// once and kept for the connection's life.
///
/// SQLiteNIO sends every statement to a thread pool and its answer back through an event loop:
/// three thread switches and a fresh `prepare` per statement, which made up most of a run's
/// end transaction (about 13 statements). Here a statement costs its own work: a cached
/// statement is bound, stepped and reset. The calls block their thread for that work only; in
/// WAL mode with `synchronous = NORMAL` a commit writes the log without waiting for the disk.
/// `Database` serializes the writer's transactions; the lock here keeps each statement whole.
final class SQLiteHandle: @unchecked Sendable {
    /// The most statements kept; SQL built with a varying number of values (multi-row inserts,
    /// `IN` lists) would otherwise grow the cache without end.
    private static let cacheLimit = 256
    private static let initialize: Void = { _ = sqlite_nio_sqlite3_initialize() }()

    let path: String
    private let lock = NIOLock()
    private var handle: OpaquePointer?
    private var statements: [String: Statement] = [:]

    /// A prepared statement and the names of its result columns, read once.
    private struct Statement {
        let pointer: OpaquePointer
        let columns: SQLiteColumns
    }

    /// Opens (creating it unless `readOnly`) the database at `path`.
    init(path: String, readOnly: Bool = false) throws {
        _ = Self.initialize
        var handle: OpaquePointer?
        let access = readOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_CREATE | SQLITE_OPEN_READWRITE
        let flags = access | SQLITE_OPEN_FULLMUTEX | SQLITE_OPEN_EXRESCODE
        let opened = sqlite_nio_sqlite3_open_v2(path, &handle, flags, nil)
        guard opened == SQLITE_OK, let handle else {
            let failure = SQLiteFailure(code: opened, message: handle.map { String(cString: sqlite_nio_sqlite3_errmsg($0)) })
            sqlite_nio_sqlite3_close(handle)
            throw failure
        }
        guard cronium_sqlite_stable_plans(UnsafeMutableRawPointer(handle)) == 0 else {
            sqlite_nio_sqlite3_close(handle)
            throw SQLiteFailure(code: SQLITE_ERROR, message: "SQLite refused its query planner stability guarantee")
        }
        self.handle = handle
        self.path = path
    }

    /// Runs one statement with its bound values, handing each result row to `onRow`.
    func execute(_ sql: String, _ binds: [SQLiteData], _ onRow: (SQLiteValues) throws -> Void) throws {
        try lock.withLock {
            guard let handle else { throw SQLiteFailure(code: SQLITE_MISUSE, message: "the database is closed") }
            let statement = try prepared(sql, on: handle)
            // Reset whatever happens: a statement left mid-way holds its read snapshot open, and
            // in WAL mode that stops checkpoints.
            defer {
                sqlite_nio_sqlite3_reset(statement.pointer)
                sqlite_nio_sqlite3_clear_bindings(statement.pointer)
            }
            for (index, value) in binds.enumerated() {
                try check(bind(value, at: Int32(index + 1), of: statement.pointer), on: handle)
            }
            while true {
                let step = sqlite_nio_sqlite3_step(statement.pointer)
                guard step == SQLITE_ROW else {
                    try check(step == SQLITE_DONE ? SQLITE_OK : step, on: handle)
                    return
                }
                try onRow(
                    SQLiteValues(
                        columns: statement.columns,
                        values: (0..<Int32(statement.columns.names.count)).map { value(at: $0, of: statement.pointer) }
                    )
                )
            }
        }
    }

    /// Finalizes the kept statements and closes the connection; later calls fail.
    func close() {
        lock.withLock {
            for statement in statements.values { sqlite_nio_sqlite3_finalize(statement.pointer) }
            statements = [:]
            sqlite_nio_sqlite3_close(handle)
            handle = nil
        }
    }

    deinit { close() }

    /// Copies the whole database into `destination` (another connection's) with SQLite's online
    /// backup: every page in one read transaction, so the copy is one consistent moment of a
    /// database that another process keeps writing.
    func copy(into destination: SQLiteHandle) throws {
        try lock.withLock {
            try destination.lock.withLock {
                guard let source = handle, let target = destination.handle else {
                    throw SQLiteFailure(code: SQLITE_MISUSE, message: "the database is closed")
                }
                guard let backup = sqlite_nio_sqlite3_backup_init(target, "main", source, "main") else {
                    throw SQLiteFailure(code: sqlite_nio_sqlite3_errcode(target), message: String(cString: sqlite_nio_sqlite3_errmsg(target)))
                }
                var step = SQLITE_OK
                repeat {
                    step = sqlite_nio_sqlite3_backup_step(backup, -1)
                    // The writer holds a lock for a moment (a checkpoint): wait and try again.
                    if step == SQLITE_BUSY || step == SQLITE_LOCKED { usleep(5000) }
                } while step == SQLITE_OK || step == SQLITE_BUSY || step == SQLITE_LOCKED
                let finished = sqlite_nio_sqlite3_backup_finish(backup)
                guard step == SQLITE_DONE, finished == SQLITE_OK else {
                    throw SQLiteFailure(code: step == SQLITE_DONE ? finished : step, message: String(cString: sqlite_nio_sqlite3_errmsg(target)))
                }
            }
        }
    }

    /// How often SQLite has prepared the kept statement `sql` again since it was first prepared
    /// (nil when it is not kept): what a kept statement should not need.
    func timesPreparedAgain(_ sql: String) -> Int32? {
        lock.withLock { statements[sql].map { sqlite_nio_sqlite3_stmt_status($0.pointer, SQLITE_STMTSTATUS_REPREPARE, 0) } }
    }

    private func prepared(_ sql: String, on handle: OpaquePointer) throws -> Statement {
        if let statement = statements[sql] { return statement }
        if statements.count >= Self.cacheLimit {
            for statement in statements.values { sqlite_nio_sqlite3_finalize(statement.pointer) }
            statements = [:]
        }
        var pointer: OpaquePointer?
        try check(sqlite_nio_sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &pointer, nil), on: handle)
        guard let pointer else {
            // An empty statement (only a comment) prepares to nothing.
            throw SQLiteFailure(code: SQLITE_MISUSE, message: "the statement is empty")
        }
        let count = sqlite_nio_sqlite3_column_count(pointer)
        let names = (0..<count).map { String(cString: sqlite_nio_sqlite3_column_name(pointer, $0)) }
        let statement = Statement(pointer: pointer, columns: SQLiteColumns(names: names))
        statements[sql] = statement
        return statement
    }

    private func bind(_ value: SQLiteData, at index: Int32, of statement: OpaquePointer) -> Int32 {
        switch value {
        case .integer(let integer): sqlite_nio_sqlite3_bind_int64(statement, index, Int64(integer))
        case .float(let double): sqlite_nio_sqlite3_bind_double(statement, index, double)
        case .text(let text):
            sqlite_nio_sqlite3_bind_text64(statement, index, text, UInt64(text.utf8.count), transient, UInt8(SQLITE_UTF8))
        case .blob(let buffer):
            buffer.withUnsafeReadableBytes {
                sqlite_nio_sqlite3_bind_blob64(statement, index, $0.baseAddress, UInt64($0.count), transient)
            }
        case .null: sqlite_nio_sqlite3_bind_null(statement, index)
        }
    }

    private func value(at column: Int32, of statement: OpaquePointer) -> SQLiteData {
        switch sqlite_nio_sqlite3_column_type(statement, column) {
        case SQLITE_INTEGER: .integer(SQLiteInt64(sqlite_nio_sqlite3_column_int64(statement, column)))
        case SQLITE_FLOAT: .float(sqlite_nio_sqlite3_column_double(statement, column))
        case SQLITE_TEXT: .text(sqlite_nio_sqlite3_column_text(statement, column).map { String(cString: $0) } ?? "")
        case SQLITE_BLOB:
            .blob(
                ByteBuffer(
                    bytes: UnsafeRawBufferPointer(
                        start: sqlite_nio_sqlite3_column_blob(statement, column),
                        count: Int(sqlite_nio_sqlite3_column_bytes(statement, column))
                    )
                )
            )
        default: .null
        }
    }

    private func check(_ code: Int32, on handle: OpaquePointer) throws {
        guard code != SQLITE_OK else { return }
        throw SQLiteFailure(code: code, message: String(cString: sqlite_nio_sqlite3_errmsg(handle)))
    }
}

/// SQLite copies a bound value at once, so the caller's buffer may go after the call.
private let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

/// The result columns of a statement, by name; shared by all the rows it returns.
struct SQLiteColumns: Sendable {
    let names: [String]
    let indexes: [String: Int]

    init(names: [String]) {
        self.names = names
        // The first of two equal names wins, as in SQLiteNIO.
        self.indexes = Dictionary(names.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
    }
}

/// One result row's values.
struct SQLiteValues: Sendable {
    let columns: SQLiteColumns
    let values: [SQLiteData]

    func value(_ column: String) -> SQLiteData? { columns.indexes[column].map { values[$0] } }
}

/// SQLite refused a statement: its result code and message (never the bound values).
public struct SQLiteFailure: Error, CustomStringConvertible {
    public let code: Int32
    public let message: String?

    public var description: String {
        let reason = String(cString: sqlite_nio_sqlite3_errstr(code))
        return "SQLite error \(code) (\(reason))" + (message.map { ": \($0)" } ?? "")
    }
}

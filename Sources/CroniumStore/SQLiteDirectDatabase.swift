import Logging
import NIOCore
import NIOPosix
import SQLKit
import SQLiteKit
import SQLiteNIO

/// SQLKit's view of a `SQLiteHandle`: queries are built and serialized by SQLKit as before, and
/// run on the calling thread.
struct SQLiteDirectDatabase: SQLDatabase {
    let handle: SQLiteHandle
    let logger: Logger
    /// Only SQLKit's legacy future-returning entry point uses it: its answer is ready at once.
    let eventLoop: any EventLoop = MultiThreadedEventLoopGroup.singleton.any()
    var dialect: any SQLDialect { SQLiteDialect() }
    var queryLogLevel: Logger.Level? { nil }

    private let encoder = SQLiteDataEncoder()
    private let decoder = SQLiteDataDecoder()

    init(handle: SQLiteHandle, logger: Logger) {
        self.handle = handle
        self.logger = logger
    }

    func execute(sql query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> Void) async throws {
        try run(query, onRow)
    }

    func execute(sql query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> Void) -> EventLoopFuture<Void> {
        do {
            try run(query, onRow)
            return eventLoop.makeSucceededVoidFuture()
        } catch {
            return eventLoop.makeFailedFuture(error)
        }
    }

    private func run(_ query: any SQLExpression, _ onRow: (any SQLRow) -> Void) throws {
        let (sql, binds) = serialize(query)
        let values = try binds.map { try encoder.encode($0) }
        try handle.execute(sql, values) { onRow(SQLiteDirectRow(values: $0, decoder: decoder)) }
    }
}

/// A result row read through SQLKit's `SQLRow`, decoded as SQLiteKit decodes its own rows.
private struct SQLiteDirectRow: SQLRow {
    let values: SQLiteValues
    let decoder: SQLiteDataDecoder

    var allColumns: [String] { values.columns.names }

    func contains(column: String) -> Bool { values.value(column) != nil }

    func decodeNil(column: String) throws -> Bool { (values.value(column) ?? .null) == .null }

    func decode<D: Decodable>(column: String, as type: D.Type) throws -> D {
        guard let value = values.value(column) else {
            throw StoreFailure(.missingColumn, "the result has no column \(column)")
        }
        return try decoder.decode(D.self, from: value)
    }
}

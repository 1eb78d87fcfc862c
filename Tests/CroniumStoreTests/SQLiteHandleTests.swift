import CroniumTesting
import Foundation
import Logging
import SQLKit
import SQLiteNIO
import Testing

@testable import CroniumStore

/// The connection that runs statements on the calling thread: its kept statements, its errors and
/// what a failed statement leaves behind.
@Suite struct SQLiteHandleTests {
    private func withHandle(_ body: (SQLiteHandle, any SQLDatabase) async throws -> Void) async throws {
        let directory = try TemporaryDirectory("handle")
        defer { directory.remove() }
        let handle = try SQLiteHandle(path: directory.appending("test.sqlite"))
        defer { handle.close() }
        let sql = SQLiteDirectDatabase(handle: handle, logger: Logger(label: "test"))
        try await sql.raw("PRAGMA journal_mode = WAL").run()
        try await sql.raw("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, size REAL, data BLOB)").run()
        try await body(handle, sql)
    }

    private struct Item: Codable, Equatable {
        var id: Int
        var name: String
        var size: Double?
        var data: Data?
    }

    /// A kept statement runs as prepared whatever values it is given. SQLite would otherwise plan
    /// some statements by their bound values (a `LIMIT ?`, as the queue's claim has) and prepare
    /// them again at every execution with new ones.
    @Test func aKeptStatementIsNotPreparedAgainForNewValues() async throws {
        try await withHandle { handle, sql in
            for index in 0..<20 { try await sql.raw("INSERT INTO items (name) VALUES (\(bind: "n\(index)"))").run() }
            let query = "SELECT id FROM items WHERE name > ?1 ORDER BY id LIMIT ?2"
            for limit in 1...10 {
                var ids: [Int] = []
                try handle.execute(query, [.text("n"), .integer(limit)]) { row in
                    if case .integer(let id)? = row.value("id") { ids.append(id) }
                }
                #expect(ids == Array(1...limit))
            }
            #expect(handle.timesPreparedAgain(query) == 0)
        }
    }

    /// More distinct statements than the cache keeps: every one still answers correctly, kept or
    /// prepared again, and each kind of value comes back as it went in.
    @Test func statementsBeyondTheCacheStillAnswer() async throws {
        try await withHandle { _, sql in
            for index in 0..<600 {
                // A statement text of its own each time (the comment), as multi-row inserts make.
                try await sql.raw(
                    "INSERT INTO items (name, size, data) VALUES (\(bind: "n\(index)"), \(bind: Double(index) / 2), \(bind: Data([UInt8(index % 256), 0, 7]))) -- \(unsafeRaw: String(index))"
                ).run()
            }
            let again = try await sql.raw("SELECT id, name, size, data FROM items WHERE name = \(bind: "n599")").first(decoding: Item.self)
            #expect(again == Item(id: 600, name: "n599", size: 299.5, data: Data([87, 0, 7])))
            for index in [0, 299, 599] {
                let name = try await sql.raw("SELECT name FROM items WHERE id = \(bind: index + 1)").first()?.decode(column: "name", as: String.self)
                #expect(name == "n\(index)")
            }
            let nothing = try await sql.raw("SELECT size FROM items WHERE name = \(bind: "n0")").first()?.decodeNil(column: "size")
            #expect(nothing == false)
            let count = try await sql.raw("SELECT COUNT(*) AS n FROM items").first()?.decode(column: "n", as: Int.self)
            #expect(count == 600)
        }
    }

    /// A refused statement throws SQLite's message without the values bound to it, and leaves no
    /// transaction or snapshot behind: the next statements, and a second connection's write, work.
    @Test func aRefusedStatementSaysWhyAndLeavesNothingOpen() async throws {
        try await withHandle { handle, sql in
            try await sql.raw("INSERT INTO items (name) VALUES (\(bind: "secret-value"))").run()
            do {
                try await sql.raw("INSERT INTO items (name) VALUES (\(bind: "secret-value"))").run()
                Issue.record("a duplicate name was accepted")
            } catch let failure as SQLiteFailure {
                #expect(failure.description.contains("UNIQUE constraint failed: items.name"))
                #expect(!failure.description.contains("secret-value"))
            }
            do {
                try await sql.raw("SELEC nonsense").run()
                Issue.record("a malformed statement was accepted")
            } catch let failure as SQLiteFailure {
                #expect(failure.description.contains("syntax error"))
            }
            // A select stopped at its first row (its reader threw) must not keep a snapshot open.
            try await sql.raw("INSERT INTO items (name) VALUES ('second')").run()
            struct Enough: Error {}
            #expect(throws: Enough.self) { try handle.execute("SELECT name FROM items", []) { _ in throw Enough() } }
            let other = try SQLiteHandle(path: handle.path)
            defer { other.close() }
            try other.execute("INSERT INTO items (name) VALUES ('from the other')", []) { _ in }
            let names = try await sql.raw("SELECT name FROM items ORDER BY id").all().map { try $0.decode(column: "name", as: String.self) }
            #expect(names == ["secret-value", "second", "from the other"])
        }
    }

    /// A closed connection refuses statements with an error instead of crashing.
    @Test func aClosedConnectionRefusesStatements() async throws {
        try await withHandle { handle, sql in
            handle.close()
            await #expect(throws: SQLiteFailure.self) { try await sql.raw("SELECT 1").run() }
        }
    }
}

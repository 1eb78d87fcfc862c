import Foundation
import SQLiteNIO

/// A SQLite database file seen from outside a server, for backups, restores and the start-up
/// check before an upgrade. Nothing here migrates or writes to the file it looks at.
public struct DatabaseFile: Sendable {
    public let path: String

    public init(path: String) {
        self.path = path
    }

    /// The newest schema version this build knows and migrates to.
    public static var latestSchema: Int { Migrations.latest }

    /// The schema's version (0 for an empty database) and the Cronium release that wrote it,
    /// when the database says (those before schema 21 do not).
    public struct Schema: Sendable, Equatable {
        public let version: Int
        public let writtenBy: String?
    }

    public var exists: Bool { FileManager.default.fileExists(atPath: path) }

    public func schema() throws -> Schema {
        let handle = try SQLiteHandle(path: path, readOnly: true)
        defer { handle.close() }
        var hasTable = false
        try handle.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'", []) { _ in hasTable = true }
        guard hasTable else { return Schema(version: 0, writtenBy: nil) }
        var schema = Schema(version: 0, writtenBy: nil)
        try handle.execute("SELECT * FROM schema_migrations ORDER BY version DESC LIMIT 1", []) { row in
            let version = row.value("version")?.integer ?? 0
            schema = Schema(version: version, writtenBy: row.value(Migrations.writtenByColumn)?.string)
        }
        return schema
    }

    /// A consistent copy of the database in a new file at `destination` (SQLite's online
    /// backup), taken while a server may be writing to it.
    public func copy(to destination: String) throws {
        let source = try SQLiteHandle(path: path, readOnly: true)
        defer { source.close() }
        let target = try SQLiteHandle(path: destination)
        defer { target.close() }
        try source.copy(into: target)
        // The copy is one file: WAL mode (copied from the server's database) would leave `-wal`
        // and `-shm` files beside it. A server opening it sets WAL mode again.
        try target.execute("PRAGMA journal_mode = DELETE", []) { _ in }
    }

    /// Throws unless SQLite finds the file whole (`PRAGMA integrity_check`).
    public func check() throws {
        let handle = try SQLiteHandle(path: path, readOnly: true)
        defer { handle.close() }
        var problems: [String] = []
        try handle.execute("PRAGMA integrity_check", []) { row in problems.append(row.values.first?.string ?? "") }
        guard problems == ["ok"] else {
            throw StoreFailure(.damaged, "\(path) is damaged: \(problems.prefix(3).joined(separator: "; "))")
        }
    }

    /// The ids of the master keys the file's secrets and credentials are sealed with (stored as
    /// `v1:<key id>:…`), so that a restore can tell whether the key at hand opens them. Tables
    /// an older schema lacks are skipped.
    public func sealingKeyIds() throws -> [String] {
        let handle = try SQLiteHandle(path: path, readOnly: true)
        defer { handle.close() }
        var ids: Set<String> = []
        for query in [
            "SELECT value AS sealed FROM variables WHERE secret = 1", "SELECT credential AS sealed FROM servers",
            "SELECT credential AS sealed FROM tools", "SELECT sealed FROM hooks",
        ] {
            do {
                try handle.execute(query, []) { row in
                    let parts = (row.value("sealed")?.string ?? "").split(separator: ":", maxSplits: 2)
                    if parts.count == 3, parts[0] == "v1" { ids.insert(String(parts[1])) }
                }
            } catch let failure as SQLiteFailure where failure.message?.hasPrefix("no such table") == true {
                continue
            }
        }
        return ids.sorted()
    }

    /// The number of rows in each of `tables`, for a person's report of what a file holds.
    public func count(_ tables: [String]) throws -> [String: Int] {
        let handle = try SQLiteHandle(path: path, readOnly: true)
        defer { handle.close() }
        var counts: [String: Int] = [:]
        for table in tables {
            try handle.execute("SELECT count(*) AS n FROM \(table)", []) { counts[table] = $0.value("n")?.integer ?? 0 }
        }
        return counts
    }
}

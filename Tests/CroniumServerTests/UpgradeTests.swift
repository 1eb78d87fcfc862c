import CroniumCore
import CroniumRunnerKit
import CroniumTesting
import Crypto
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import SQLKit
import Testing

@testable import CroniumEngine
@testable import CroniumServer
@testable import CroniumStore

/// A database written by an older release starts under this one: backed up first, migrated
/// forward, its events, runs, logs and secrets intact. One written by a newer release is refused
/// and left untouched.
@Suite struct UpgradeTests {
    static let oldRelease = "0.0.5"
    /// The first schema that held secrets (migration 5, "variables"), as that release left it.
    static let oldSchema = 5
    static let token = "crn_upgrade_test_token_0123456789abcdef"

    /// Rows as the release of schema 5 (commit 49d1786) wrote them: its event JSON (every field
    /// of its `Event`, dates in milliseconds), its run and log columns, a secret sealed with
    /// its AES-GCM format under the data directory's master key.
    static func writeOldDatabase(at data: String, key: SymmetricKey) async throws {
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        try KeyFile(path: "\(data)/master.key").write(key)
        let database = try await Database.openSQLite(
            path: "\(data)/cronium.sqlite",
            writtenBy: oldRelease,
            through: oldSchema,
            logger: Logger(label: "t")
        )
        let sealed = try SecretCipher(current: key).seal("s3cret")
        let event = #"""
            {"id":1,"ownerId":1,"name":"greet","description":"says whether the secret arrived","type":"BASH",
             "content":"test \"$GREETING\" = s3cret && echo same","status":"ACTIVE","triggerType":"MANUAL","environment":{"MODE":"old"},
             "variables":{"GREETING":"greeting"},"timeoutValue":30,"timeoutUnit":"SECONDS","retries":0,"retryBackoffSeconds":10,
             "maxExecutions":0,"executionCount":3,"resetCounterOnActive":false,"tags":["ops"],"runLocation":"LOCAL","networkAccess":false,
             "shared":false,"logCapBytes":1048576,"createdAt":1764500000000,"updatedAt":1764500000000}
            """#
        let scheduled = #"""
            {"id":2,"ownerId":1,"name":"nightly","description":"","type":"PYTHON","content":"print('night')","status":"PAUSED",
             "triggerType":"SCHEDULE","schedule":{"kind":"cron","cron":"0 3 * * *","timeZone":"Europe/Berlin","dstGap":"shift",
             "dstOverlap":"once","misfire":"last","overlap":"skip"},"environment":{},"timeoutValue":5,"timeoutUnit":"MINUTES","retries":2,
             "retryBackoffSeconds":30,"maxExecutions":0,"executionCount":0,"resetCounterOnActive":false,"tags":[],"runLocation":"LOCAL",
             "networkAccess":true,"shared":true,"logCapBytes":1048576,"createdAt":1764500000000,"updatedAt":1764500000000}
            """#
        try await database.transaction { sql in
            try await sql.raw(
                "INSERT INTO users (username, password_hash, role, created_at) VALUES ('admin', \(bind: Secrets.hashPassword("old-password", cost: 4)), 'admin', 1764500000000)"
            ).run()
            try await sql.raw(
                "INSERT INTO api_tokens (user_id, name, prefix, token_hash, created_at) VALUES (1, 'old', \(bind: String(token.prefix(12))), \(bind: Secrets.hashToken(token)), 1764500000000)"
            ).run()
            for (name, type, trigger, shared, data) in [
                ("greet", "BASH", "MANUAL", false, event), ("nightly", "PYTHON", "SCHEDULE", true, scheduled),
            ] {
                try await sql.raw(
                    "INSERT INTO events (owner_id, name, type, status, trigger_type, shared, execution_count, data, created_at, updated_at) VALUES (1, \(bind: name), \(bind: type), \(bind: name == "greet" ? "ACTIVE" : "PAUSED"), \(bind: trigger), \(bind: shared), \(bind: name == "greet" ? 3 : 0), \(bind: data), 1764500000000, 1764500000000)"
                ).run()
            }
            for (status, exit, code) in [("SUCCESS", 0, nil), ("FAILURE", 3, "EXIT_STATUS"), ("SUCCESS", 0, nil)] as [(String, Int, String?)] {
                try await sql.raw(
                    "INSERT INTO executions (event_id, status, trigger, attempt, created_at, started_at, finished_at, exit_code, log_bytes, error_code) VALUES (1, \(bind: status), 'MANUAL', 1, 1764500001000, 1764500001000, 1764500002000, \(bind: exit), 12, \(bind: code))"
                ).run()
            }
            for (seq, text) in ["hello", "world"].enumerated() {
                try await sql.raw(
                    "INSERT INTO log_lines (execution_id, seq, ts, stream, text) VALUES (1, \(bind: seq + 1), 1764500001500, 'stdout', \(bind: text))"
                ).run()
            }
            try await sql.raw(
                "INSERT INTO variables (owner_id, key, value, secret, description, created_at, updated_at) VALUES (1, 'greeting', \(bind: sealed), \(bind: true), 'a secret', 1764500000000, 1764500000000)"
            ).run()
        }
        // Releases before retention made their files without incremental vacuum.
        try await database.sql.raw("PRAGMA auto_vacuum = NONE").run()
        try await database.sql.raw("VACUUM").run()
        try await database.shutdown()
    }

    /// The file header's incremental-vacuum flag (bytes 64–67, big-endian), as SQLite documents it.
    static func incrementalVacuum(_ path: String) throws -> Bool {
        let header = try FileHandle(forReadingFrom: URL(fileURLWithPath: path)).read(upToCount: 68) ?? Data()
        return header.count == 68 && header[64..<68].contains { $0 != 0 }
    }

    @Test func aDatabaseOfAnOlderReleaseIsBackedUpAndUpgradedWithItsEventsRunsAndSecrets() async throws {
        let directory = try TemporaryDirectory("upgrade")
        defer { directory.remove() }
        let data = directory.appending("data")
        let key = SymmetricKey(size: .bits256)
        try await Self.writeOldDatabase(at: data, key: key)
        #expect(try !Self.incrementalVacuum("\(data)/cronium.sqlite"))

        let server = try await ToolTests.server(in: directory)
        #expect(server.node.initialAdmin == nil)
        // The backup taken before the migration: the old schema, whole, restorable.
        let backups = try FileManager.default.contentsOfDirectory(atPath: "\(data)/backups")
        #expect(backups.count == 1 && backups[0].hasPrefix("before-schema-\(DatabaseFile.latestSchema)-") && backups[0].hasSuffix(".cronium-backup"))
        let (manifest, _) = try Backup.manifest(of: "\(data)/backups/\(backups[0])")
        #expect(manifest.schema == Self.oldSchema && manifest.cronium == Self.oldRelease)
        #expect(manifest.events == 2 && manifest.runs == 3 && manifest.keyIds == [SecretCipher.id(of: key)])

        try await buildApplication(server).test(.router) { client in
            let runs = RunsClient(client: client, token: Self.token)
            let events = try await client.execute(uri: "/api/v1/events", method: .get, headers: auth(Self.token)) { try decode([Event].self, $0) }
            #expect(events.map(\.name) == ["greet", "nightly"])
            #expect(events[0].variables == ["GREETING": "greeting"] && events[0].environment == ["MODE": "old"] && events[0].tags == ["ops"])
            #expect(events[1].schedule?.cron == "0 3 * * *" && events[1].schedule?.timeZone == "Europe/Berlin" && events[1].status == .paused)
            #expect(events[1].retries == 2 && events[1].shared && events[1].type == .python)
            let old = try await [1, 2, 3].asyncMap { try await runs.execution(ExecutionID($0)) }
            #expect(old.map(\.status) == [.success, .failure, .success])
            #expect(old[1].exitCode == 3 && old[1].errorCode == .exitStatus)
            #expect(try await runs.log(ExecutionID(1)) == ["hello", "world"])
            // The secret opens under the same key: the script sees it and says so.
            let fresh = try await runs.run(events[0])
            #expect(fresh.status == .success)
            #expect(try await runs.log(fresh.id).contains("same"))
        }
        await server.node.close()
        // Rewritten once at that start, so that retention's purges can shrink it.
        #expect(try Self.incrementalVacuum("\(data)/cronium.sqlite"))

        let database = try await Database.openSQLite(path: "\(data)/cronium.sqlite", logger: Logger(label: "t"))
        let written = try await database.read { sql in
            try await sql.raw("SELECT version, cronium_version FROM schema_migrations ORDER BY version").all().map {
                (try $0.decode(column: "version", as: Int.self), try $0.decode(column: "cronium_version", as: String?.self))
            }
        }
        try await database.shutdown()
        #expect(written.count == DatabaseFile.latestSchema)
        #expect(written.allSatisfy { $0.1 == ($0.0 <= Self.oldSchema ? Self.oldRelease : BuildInfo.version) })
    }

    @Test func aDatabaseOfANewerReleaseIsRefusedAndLeftAsItWas() async throws {
        let directory = try TemporaryDirectory("newer")
        defer { directory.remove() }
        let data = directory.appending("data")
        let key = SymmetricKey(size: .bits256)
        try await Self.writeOldDatabase(at: data, key: key)
        let database = try await Database.openSQLite(path: "\(data)/cronium.sqlite", writtenBy: "0.0.5", logger: Logger(label: "t"))
        try await database.transaction { sql in
            try await sql.raw(
                "INSERT INTO schema_migrations (version, name, applied_at, cronium_version) VALUES (\(bind: DatabaseFile.latestSchema + 1), 'from the future', 0, '9.9.9')"
            ).run()
        }
        try await database.shutdown()
        let before = try Data(contentsOf: URL(fileURLWithPath: "\(data)/cronium.sqlite"))

        let error = await #expect(throws: StartupError.self) { _ = try await ToolTests.server(in: directory) }
        #expect(error?.code == .database)
        #expect(error?.description.contains("written by Cronium 9.9.9") == true)
        #expect(error?.description.contains("run Cronium 9.9.9 or newer") == true)
        #expect(try Data(contentsOf: URL(fileURLWithPath: "\(data)/cronium.sqlite")) == before)
        #expect(!FileManager.default.fileExists(atPath: "\(data)/backups"))
        // The lock is let go: the right release may start on it at once.
        _ = try DataDirectoryLock(directory: data).release()
    }
}

extension Array {
    fileprivate func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var results: [T] = []
        for element in self { results.append(try await transform(element)) }
        return results
    }
}

import CroniumCore
import CroniumTesting
import Foundation
import Testing

/// The retention purge of a real server: five thousand runs a hundred days old are removed
/// while new runs go on, the file shrinks, and `cronium status`, `cronium purge` and `/metrics`
/// say what happened.
@Suite struct RetentionServerTests {
    static let seeded = 5_000

    @Test func oldRunsArePurgedWhileRunsGoOnAndTheFileShrinks() async throws {
        let directory = try TemporaryDirectory("retention")
        defer { directory.remove() }
        let data = directory.appending("data")
        let first = try await CrashRecoveryTests.ServerProcess.start(dataDirectory: data)
        let token = try String(contentsOfFile: "\(data)/initial-admin-token", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let header = ["-H", "Authorization: Bearer \(token)", "-H", "Content-Type: application/json"]
        var url = "http://127.0.0.1:\(first.port)"
        let created = try await curl(header + ["\(url)/api/v1/events", "-d", #"{"name":"tick","type":"BASH","content":"echo tick"}"#])
        #expect(created.status == 201, "\(created.body)")
        let misspelled = try await curl(header + ["-X", "PATCH", "\(url)/api/v1/events/1", "-d", #"{"retention":{"runDays":3}}"#])
        #expect(misspelled.status == 400 && misspelled.body.contains("retention.runDays"))
        first.process.terminate()
        #expect(try await eventually { !first.process.isRunning })

        let database = "\(data)/cronium.sqlite"
        let seed = try await runBlocking(
            ["/usr/bin/python3", FileManager.default.currentDirectoryPath + "/scripts/seed-old-runs.py", database, "1", String(Self.seeded), "100"]
        )
        #expect(seed == 0)
        let seededBytes = try fileSize(database)

        let server = try await CrashRecoveryTests.ServerProcess.start(dataDirectory: data, arguments: ["--purge-interval", "1"])
        defer { server.process.terminate() }
        url = "http://127.0.0.1:\(server.port)"
        var started: [Int] = []
        struct Report: Decodable {
            struct Storage: Decodable { let databaseBytes: Int64, runs: Int }
            struct Purge: Decodable { let removed: [String: Int] }
            let storage: Storage
            let lastPurge: Purge?
            let removedSinceStart: [String: Int]
        }
        func report() async throws -> Report {
            try JSONDecoder().decode(Report.self, from: Data(try await curl(header + ["\(url)/api/v1/system/storage"]).body.utf8))
        }
        // Runs keep starting until the purge has ended (or 400 have: one page of the list below);
        // each of them succeeds.
        repeat {
            let run = try await curl(header + ["-X", "POST", "\(url)/api/v1/events/1/run"])
            #expect(run.status == 202, "\(run.body)")
            if let id = (try? JSONSerialization.jsonObject(with: Data(run.body.utf8)) as? [String: Any])?["executionId"] as? Int {
                started.append(id)
            }
        } while try await report().lastPurge == nil && started.count < 400
        struct Run: Decodable { let id: Int, status: String }
        #expect(
            try await eventually(timeout: .seconds(60)) {
                let runs = try JSONDecoder().decode([Run].self, from: Data(try await curl(header + ["\(url)/api/v1/executions?limit=500"]).body.utf8))
                return runs.count == started.count && runs.allSatisfy { $0.status == "SUCCESS" }
            }
        )
        // A purge now finds nothing more, and the figures are read afresh after it.
        let again = try await CLITests.cli(["purge"], url: url, token: token)
        #expect(again.status == 0 && again.stdout == "removed nothing\n", "\(again.stderr)")
        let after = try await report()
        #expect(after.removedSinceStart == ["runs": Self.seeded], "\(after.removedSinceStart)")
        #expect(after.storage.runs == started.count)
        #expect(after.storage.databaseBytes < seededBytes / 2, "the file did not shrink: \(after.storage.databaseBytes) of \(seededBytes) bytes")

        let status = try await CLITests.cli(["status"], url: url, token: token)
        #expect(status.stdout.contains("\(started.count) runs") && status.stdout.contains("since the start: \(Self.seeded) runs"), "\(status.stdout)")
        #expect(status.stdout.contains("retention: keeps runs 90 days, logs 30 days"), "\(status.stdout)")
        let metrics = try await curl(header + ["\(url)/metrics"]).body
        #expect(metrics.contains(#"cronium_retention_removed_total{kind="runs"} \#(Self.seeded)"#), "\(metrics)")
        #expect(metrics.contains("cronium_runs_stored \(started.count)"))
    }

    @Test func badRetentionSettingsAreRefusedBeforeAnythingStarts() async throws {
        let directory = try TemporaryDirectory("retention-flags")
        defer { directory.remove() }
        for (flag, value, message) in [
            ("--keep-runs-days", "-1", "--keep-runs-days must be between 0 (no limit) and 36500"),
            ("--keep-last-runs", "2000000", "--keep-last-runs must be between 0 (no limit) and 1000000"),
            ("--purge-interval", "0", "--purge-interval must be between 1 and 86400 seconds"),
        ] {
            let result = try await CLITests.cli(["serve", "--data-dir", directory.appending("data"), "\(flag)=\(value)"])
            #expect(result.status == 64 && result.stderr.contains(message), "\(result.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: directory.appending("data")))
    }

    private func fileSize(_ path: String) throws -> Int64 {
        (try FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.int64Value ?? 0
    }

    private func runBlocking(_ arguments: [String]) async throws -> Int32 {
        let pid = try spawn(arguments)
        return try await offThePool { waitForExit(pid) }
    }
}

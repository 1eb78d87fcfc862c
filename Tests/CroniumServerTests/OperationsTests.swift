import CroniumCore
import CroniumTesting
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// What an operator does around a running server: configure it, read its logs, back it up and
/// restore it. The real binary throughout.
@Suite struct OperationsTests {
    struct Shown: Decodable {
        struct Setting: Decodable {
            let key: String
            let value: String
            let source: String
        }
        let file: String?
        let settings: [Setting]
        subscript(key: String) -> Setting? { settings.first { $0.key == key } }
    }

    @Test func settingsComeFromFlagsThenTheEnvironmentThenTheFile() async throws {
        let directory = try TemporaryDirectory("config")
        defer { directory.remove() }
        let data = directory.appending("data")
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        let file = "\(data)/cronium.yaml"
        try """
        # the data directory's own file, found without --config
        port: 6001
        max-concurrent-runs: 3
        shutdown-grace: 4
        sandbox-ro-bind: [/opt, /srv/data]
        """.write(toFile: file, atomically: true, encoding: .utf8)
        let key = Data((0..<32).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
        let shown = try await CLITests.cli(
            ["config", "show", "--json", "--data-dir", data, "--port", "7000"],
            environment: ["CRONIUM_MAX_CONCURRENT_RUNS": "5", "CRONIUM_LOG_LEVEL": "debug", "CRONIUM_MASTER_KEY": key]
        )
        #expect(shown.status == 0, "\(shown.stderr)")
        let settings = try JSONDecoder().decode(Shown.self, from: Data(shown.stdout.utf8))
        #expect(settings.file == file)
        #expect(settings["port"]?.value == "7000" && settings["port"]?.source == "flag")
        #expect(settings["max-concurrent-runs"]?.value == "5" && settings["max-concurrent-runs"]?.source == "CRONIUM_MAX_CONCURRENT_RUNS")
        #expect(settings["log-level"]?.value == "debug" && settings["log-level"]?.source == "CRONIUM_LOG_LEVEL")
        #expect(settings["shutdown-grace"]?.value == "4" && settings["shutdown-grace"]?.source == "\(file):4")
        #expect(settings["sandbox-ro-bind"]?.value == "/opt, /srv/data" && settings["sandbox-ro-bind"]?.source == "\(file):5")
        #expect(settings["host"]?.value == "127.0.0.1" && settings["host"]?.source == "default")
        #expect(settings["master-key"]?.value == "********" && !shown.stdout.contains(key))

        // Mistakes name where they are; nothing starts.
        let cases: [(String, [String: String], String)] = [
            ("port: 6001\nmax-concurent-runs: 2\n", [:], "\(file):2: unknown setting 'max-concurent-runs'; did you mean 'max-concurrent-runs'?"),
            ("port: 6001\nport: 6002\n", [:], "\(file):1: not valid YAML: 'port' set more than once"),
            ("port: [1, 2]\n", [:], "\(file):1: 'port' takes one value, not a list"),
            ("port: lots\n", [:], "\(file):1: The value 'lots' is invalid for '--port <port>'"),
            ("port: 6001\n", ["CRONIUM_SANDBOX": "maybe"], "CRONIUM_SANDBOX: --sandbox must be auto, required or off"),
            ("port: 6001\n  bad indentation: [\n", [:], "\(file):2: not valid YAML: mapping values are not allowed in this context"),
        ]
        for (text, environment, message) in cases {
            try text.write(toFile: file, atomically: true, encoding: .utf8)
            for command in [["config", "show"], ["serve"]] {
                let result = try await CLITests.cli(command + ["--data-dir", data], environment: environment)
                #expect(result.status == 64 && result.stderr.contains(message), "\(command): \(result.stderr)")
            }
        }
        let folder = try await CLITests.cli(["serve", "--config", data, "--data-dir", data])
        #expect(folder.status == 64 && folder.stderr.contains("the configuration file \(data) is a directory"), "\(folder.stderr)")
        let missing = try await CLITests.cli(["serve", "--config", "\(data)/nope.yaml", "--data-dir", data])
        #expect(missing.status == 64 && missing.stderr.contains("the configuration file \(data)/nope.yaml does not exist"), "\(missing.stderr)")
        #expect(!FileManager.default.fileExists(atPath: "\(data)/cronium.sqlite"))
    }

    /// `serve` takes the file's settings, and with `log-format: json` every line it logs is one
    /// JSON object with a level and a message.
    @Test func theServerReadsItsFileAndLogsJSONLines() async throws {
        let directory = try TemporaryDirectory("jsonlog")
        defer { directory.remove() }
        let data = directory.appending("data")
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        try "log-format: json\nlog-level: info\n".write(toFile: "\(data)/cronium.yaml", atomically: true, encoding: .utf8)
        let errors = directory.appending("stderr")
        // The test's own `--log-level error` is given again as `info`: a flag's last value wins.
        let server = try await CrashRecoveryTests.ServerProcess.start(dataDirectory: data, arguments: ["--log-level", "info"], errors: errors)
        server.process.terminate()
        #expect(try await eventually { !server.process.isRunning })
        let lines = try String(contentsOfFile: errors, encoding: .utf8).split(separator: "\n")
        #expect(lines.count > 5)
        for line in lines {
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            #expect(object?["message"] is String && object?["time"] is String, "\(line)")
            #expect(["info", "notice", "warning", "error"].contains(object?["level"] as? String ?? ""), "\(line)")
        }
        #expect(lines.contains { $0.contains(#""db.migration":"20 deliveries by tool""#) })
    }

    @Test func theVersionSaysWhatWasBuilt() async throws {
        let version = try await CLITests.cli(["--version"])
        #expect(version.stdout == "0.1.0 (built from a checkout)\n", "\(version.stderr)")
        let unreachable = try await CLITests.cli(["version"], url: "http://127.0.0.1:9")
        #expect(unreachable.stdout == "client 0.1.0 (built from a checkout)\n" && unreachable.status == 69)
    }

    /// Runs go on while the backup is taken; the restored server shows every run that had ended
    /// before it began, as it was.
    @Test func aBackupTakenUnderLoadRestoresEveryRunRecordedBeforeIt() async throws {
        let directory = try TemporaryDirectory("backup")
        defer { directory.remove() }
        let data = directory.appending("data")
        let server = try await CrashRecoveryTests.ServerProcess.start(dataDirectory: data)
        defer { server.process.terminate() }
        let url = "http://127.0.0.1:\(server.port)"
        let token = try String(contentsOfFile: "\(data)/initial-admin-token", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let header = ["-H", "Authorization: Bearer \(token)", "-H", "Content-Type: application/json"]
        let created = try await curl(
            header + ["\(url)/api/v1/events", "-d", #"{"name":"tick","type":"BASH","content":"echo tick","status":"ACTIVE"}"#]
        )
        #expect(created.status == 201, "\(created.body)")
        let secret = try await curl(header + ["-X", "PUT", "\(url)/api/v1/variables/GREETING", "-d", #"{"value":"s3cret","secret":true}"#])
        #expect(secret.status == 201, "\(secret.body)")

        struct Run: Decodable, Equatable {
            let id: Int
            let status: String
            let exitCode: Int?
        }
        func finishedRuns(at url: String) async throws -> [Run] {
            let answer = try await curl(header + ["\(url)/api/v1/executions?limit=500"])
            return try JSONDecoder().decode([Run].self, from: Data(answer.body.utf8)).filter { !["PENDING", "RUNNING"].contains($0.status) }
        }
        let load = Task {
            var started = 0
            while !Task.isCancelled {
                if try await curl(header + ["-X", "POST", "\(url)/api/v1/events/1/run"]).status == 202 { started += 1 }
            }
            return started
        }
        #expect(try await eventually(timeout: .seconds(60)) { try await finishedRuns(at: url).count >= 20 })
        let before = try await finishedRuns(at: url)
        let file = directory.appending("nightly.cronium-backup")
        let backup = try await CLITests.cli(["backup", file, "--data-dir", data])
        #expect(backup.status == 0 && backup.stdout.contains("to \(file)"), "\(backup.stderr)")
        try await Task.sleep(for: .milliseconds(300))
        load.cancel()
        let started = try await load.value
        server.process.terminate()
        #expect(try await eventually { !server.process.isRunning })

        let again = try await CLITests.cli(["backup", file, "--data-dir", data])
        #expect(again.status == 64 && again.stderr.contains("--force"))
        let restored = directory.appending("restored")
        try FileManager.default.createDirectory(atPath: restored, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: "\(data)/master.key", toPath: "\(restored)/master.key")
        let restore = try await CLITests.cli(["restore", file, "--data-dir", restored])
        #expect(restore.status == 0 && restore.stdout.contains("restored 1 event and"), "\(restore.stderr)")
        #expect(restore.stdout.contains("its secrets are sealed with the master key") && restore.stdout.contains("the one in \(restored)/master.key"))
        let twice = try await CLITests.cli(["restore", file, "--data-dir", restored])
        #expect(twice.status == 1 && twice.stderr.contains("already holds a database"))

        let second = try await CrashRecoveryTests.ServerProcess.start(dataDirectory: restored)
        defer { second.process.terminate() }
        let after = try await finishedRuns(at: "http://127.0.0.1:\(second.port)")
        let kept = Dictionary(uniqueKeysWithValues: after.map { ($0.id, $0) })
        #expect(before.allSatisfy { kept[$0.id] == $0 }, "runs ended before the backup are missing or changed")
        #expect(after.count >= before.count && after.count <= started)
        // Runs that were under way in the backup's moment are recorded as interrupted, not lost.
        let all = try await curl(header + ["http://127.0.0.1:\(second.port)/api/v1/executions?limit=500"])
        #expect(!all.body.contains(#""status":"RUNNING""#))
    }

    @Test func aDamagedOrForeignBackupIsRefusedAndNothingIsRestored() async throws {
        let directory = try TemporaryDirectory("badbackup")
        defer { directory.remove() }
        let data = directory.appending("data")
        let server = try await CrashRecoveryTests.ServerProcess.start(dataDirectory: data)
        server.process.terminate()
        #expect(try await eventually { !server.process.isRunning })
        let file = directory.appending("b.cronium-backup")
        #expect(try await CLITests.cli(["backup", file, "--data-dir", data]).status == 0)
        var bytes = try Data(contentsOf: URL(fileURLWithPath: file))
        bytes[bytes.count - 100] ^= 0xFF
        try bytes.write(to: URL(fileURLWithPath: file))
        let restored = directory.appending("restored")
        let damaged = try await CLITests.cli(["restore", file, "--data-dir", restored])
        #expect(damaged.status == 1 && damaged.stderr.contains("is damaged"), "\(damaged.stderr)")
        #expect(!FileManager.default.fileExists(atPath: "\(restored)/cronium.sqlite"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: restored).filter { $0 != "cronium.lock" }.isEmpty)
        try "not a backup".write(toFile: file, atomically: true, encoding: .utf8)
        let foreign = try await CLITests.cli(["restore", file, "--data-dir", restored])
        #expect(foreign.status == 1 && foreign.stderr.contains("is not a Cronium backup"), "\(foreign.stderr)")
        let none = try await CLITests.cli(["backup", file, "--force", "--data-dir", directory.appending("empty")])
        #expect(none.status == 64 && none.stderr.contains("holds no Cronium database"), "\(none.stderr)")
        // Careless destinations are said before anything is copied.
        let nowhere = try await CLITests.cli(["backup", directory.appending("missing/b.cronium-backup"), "--data-dir", data])
        #expect(nowhere.status == 1 && nowhere.stderr.contains("cannot write into \(directory.appending("missing")): No such file or directory"))
        let folder = try await CLITests.cli(["backup", directory.path, "--force", "--data-dir", data])
        #expect(folder.status == 1 && folder.stderr.contains("\(directory.path) is a directory"), "\(folder.stderr)")
        try "CRONIUM-BACKUP 1\n{\"schema\":".write(toFile: file, atomically: true, encoding: .utf8)
        let cut = try await CLITests.cli(["restore", file, "--data-dir", restored])
        #expect(cut.status == 1 && cut.stderr.contains("is a damaged Cronium backup: it ends inside its manifest"), "\(cut.stderr)")
    }
}

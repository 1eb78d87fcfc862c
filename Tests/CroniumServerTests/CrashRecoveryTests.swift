import CroniumCore
import CroniumStore
import CroniumTesting
import Foundation
import Logging
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// `cronium serve` killed with SIGKILL in the middle of an unsandboxed run: after the restart no
/// process of that run may remain, and the run is recorded as interrupted.
@Suite struct CrashRecoveryTests {
    /// A server process of the real binary; stdout is read until it says where it listens.
    final class ServerProcess: @unchecked Sendable {
        let process = Process()
        let port: Int
        /// What it printed up to its address: the first start's admin password among it.
        let firstLines: String

        /// Starts it on a thread of its own: waiting for its first line must not block one of the
        /// two cooperative threads the other tests share.
        /// `arguments` go after the test's own (`--log-level error` among them), `errors` is a
        /// file for the server's stderr (discarded when nil), `environment` adds to its `PATH`.
        static func start(
            dataDirectory: String,
            asUser user: String? = nil,
            port: Int = 0,
            arguments: [String] = [],
            errors: String? = nil,
            environment: [String: String] = [:]
        ) async throws -> ServerProcess {
            try await offThePool {
                try ServerProcess(
                    dataDirectory: dataDirectory,
                    asUser: user,
                    listenOn: port,
                    arguments: arguments,
                    errors: errors,
                    environment: environment
                )
            }
        }

        private init(
            dataDirectory: String,
            asUser user: String?,
            listenOn requested: Int,
            arguments: [String],
            errors: String?,
            environment: [String: String]
        ) throws {
            let serve =
                [
                    CLITests.binary, "serve", "--data-dir", dataDirectory, "--port", String(requested), "--sandbox", "off", "--log-level", "error",
                ] + arguments
            process.executableURL = URL(fileURLWithPath: user == nil ? serve[0] : "/usr/sbin/runuser")
            process.arguments = user.map { ["-u", $0, "--"] + serve } ?? Array(serve.dropFirst())
            process.environment = environment.merging(["PATH": "/usr/bin:/bin"]) { mine, _ in mine }
            let out = Pipe()
            process.standardOutput = out
            if let errors {
                _ = FileManager.default.createFile(atPath: errors, contents: nil)
                process.standardError = FileHandle(forWritingAtPath: errors)
            } else {
                process.standardError = FileHandle.nullDevice
            }
            try process.run()
            var seen = ""
            while !seen.contains("listening on http") || !seen.hasSuffix("\n") {
                let chunk = out.fileHandleForReading.availableData
                guard !chunk.isEmpty else { throw HarnessError("the server exited: \(seen)") }
                seen += String(decoding: chunk, as: UTF8.self)
            }
            let address = seen.components(separatedBy: "://127.0.0.1:").last ?? ""
            port = Int(address.prefix { $0.isNumber }) ?? 0
            firstLines = seen
        }

        /// The server that `runuser` started, or the process itself.
        var serverPid: pid_t {
            let children =
                (try? String(contentsOfFile: "/proc/\(process.processIdentifier)/task/\(process.processIdentifier)/children", encoding: .utf8)) ?? ""
            return children.split(separator: " ").compactMap { pid_t($0) }.first ?? process.processIdentifier
        }
    }

    /// As root the run has a cgroup, emptied at the next start; as another user it has none, and
    /// its process group is recorded and ended instead.
    @Test(.enabled(if: getuid() == 0, "needs root to start a server as another user"), arguments: [nil, "nobody"])
    func killingTheServerLeavesNoProcessOfARunAfterTheRestart(asUser user: String?) async throws {
        let directory = try TemporaryDirectory("crash")
        defer { directory.remove() }
        if let user {
            chmod(directory.path, 0o777)
            let owner = getpwnam(user)!.pointee
            chown(directory.path, owner.pw_uid, owner.pw_gid)
        }
        let data = directory.appending("data")
        let first = try await ServerProcess.start(dataDirectory: data, asUser: user)
        let url = "http://127.0.0.1:\(first.port)"
        let token = try String(contentsOfFile: "\(data)/initial-admin-token", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let marker = "31\(Int.random(in: 100_000...999_999))"
        let created = try await CLITests.cli(
            ["event", "create", "--name", "survivor", "--type", "bash", "--script", "sleep \(marker) &\nsleep \(marker).5"],
            url: url,
            token: token
        )
        #expect(created.status == 0, "\(created.stderr)")
        let run = try await CLITests.cli(["event", "run", "1"], url: url, token: token)
        #expect(run.stdout.contains("started execution 1"), "\(run.stderr)")
        #expect(try await eventually { livePIDs(withMarker: marker).count == 2 })
        if user != nil {
            // Without a cgroup the run's process group is noted right after the spawn, on a thread
            // a loaded machine may not schedule at once; a crash before that loses the note.
            #expect(try await eventually { FileManager.default.fileExists(atPath: "\(data)/work.groups/1") })
        }

        kill(first.serverPid, SIGKILL)
        #expect(try await eventually { !first.process.isRunning })
        // The script's shell dies with the server (it asked for SIGKILL then); its children do not.
        #expect(try await eventually { livePIDs(withMarker: marker).count == 2 }, "the test needs survivors to be meaningful")

        let second = try await ServerProcess.start(dataDirectory: data, asUser: user)
        #expect(try await eventually(timeout: .seconds(5)) { livePIDs(withMarker: marker).isEmpty })
        second.process.terminate()
        #expect(try await eventually { !second.process.isRunning })
        let store = try await Database.openSQLite(path: "\(data)/cronium.sqlite", logger: .init(label: "t"))
        let execution = try #require(try await store.execution(id: 1))
        #expect(execution.status == .failure && execution.errorCode == .interrupted)
        try await store.shutdown()
        for pid in livePIDs(withMarker: marker) { kill(pid, SIGKILL) }
    }
}

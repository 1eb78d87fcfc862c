import CroniumCore
import CroniumTesting
import Foundation
import Hummingbird
import Logging
import NIOCore
import Testing

@testable import CroniumServer

/// The `cronium` binary run as a user would, against a live server on a free port.
@Suite struct CLITests {
    struct Result: Sendable {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    static var binary: String {
        let built = FileManager.default.currentDirectoryPath + "/.build/debug/cronium"
        if FileManager.default.isExecutableFile(atPath: built) { return built }
        return URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("cronium").path
    }

    /// Runs the binary on a thread of its own: blocking the two cooperative threads of this
    /// machine would starve the in-process server the CLI talks to.
    /// `home` is its HOME, where `cronium login` saves (the system's temporary directory unless given).
    /// `interruptOn`: Ctrl-C (SIGINT) as soon as stdout shows this text, so a loaded machine
    /// cannot make the signal arrive before the CLI is where the test means it to be.
    static func cli(
        _ arguments: [String],
        url: String? = nil,
        token: String? = nil,
        input: String? = nil,
        interruptOn: String? = nil,
        home: String? = nil,
        environment extra: [String: String] = [:]
    ) async throws -> Result {
        try await offThePool {
            try runBlocking(arguments, url: url, token: token, input: input, interruptOn: interruptOn, home: home, extra: extra)
        }
    }

    private static func runBlocking(
        _ arguments: [String],
        url: String?,
        token: String?,
        input: String?,
        interruptOn: String?,
        home: String?,
        extra: [String: String]
    ) throws -> Result {
        var environment = ["PATH=/usr/bin:/bin", "HOME=\(home ?? NSTemporaryDirectory())"] + extra.map { "\($0)=\($1)" }
        if let url { environment.append("CRONIUM_URL=\(url)") }
        if let token { environment.append("CRONIUM_TOKEN=\(token)") }
        let errors = NSTemporaryDirectory() + "cronium-cli-\(UUID().uuidString).err"
        defer { unlink(errors) }
        // In the temporary directory, as a user would run it anywhere but a server's own.
        let child = try PipedChild(["/usr/bin/env", "-C", NSTemporaryDirectory(), binary] + arguments, environment: environment, errors: errors)
        child.write(Array((input ?? "").utf8))
        child.closeInput()
        var stdout: [UInt8] = []
        if let interruptOn {
            while !String(decoding: stdout, as: UTF8.self).contains(interruptOn) {
                let chunk = child.read()
                if chunk.isEmpty { break }
                stdout += chunk
            }
            kill(child.pid, SIGINT)
        }
        stdout += child.readToEnd()
        let status = waitForExit(child.pid)
        return Result(
            status: status,
            stdout: String(decoding: stdout, as: UTF8.self),
            stderr: (try? String(contentsOfFile: errors, encoding: .utf8)) ?? ""
        )
    }

    /// Runs `body` with a live server's URL and admin token.
    static func withLiveServer(_ body: (String, String) async throws -> Void) async throws {
        try await withLiveServer(dataDirectoryName: "data") { url, token, _ in try await body(url, token) }
    }

    /// The same, with the directory holding the server's data directory (named `dataDirectoryName`).
    static func withLiveServer(
        dataDirectoryName: String,
        configure: (inout ServerConfiguration) -> Void = { _ in },
        _ body: (String, String, String) async throws -> Void
    ) async throws {
        let fixture = try await ServerFixture(dataDirectoryName: dataDirectoryName, configure)
        defer { fixture.directory.remove() }
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        let task = Task { try await buildApplication(fixture.server) { channel in continuation.yield(channel.localAddress?.port ?? 0) }.runService() }
        var iterator = ports.makeAsyncIterator()
        let port = try #require(await iterator.next())
        do {
            try await body("http://127.0.0.1:\(port)", fixture.adminToken, fixture.directory.path)
        } catch {
            task.cancel()
            _ = await task.result
            throw error
        }
        task.cancel()
        _ = await task.result
    }

    @Test func eventLifecycleThroughTheCLI() async throws {
        try await Self.withLiveServer { url, token in
            let created = try await Self.cli(
                ["event", "create", "--name", "greet", "--type", "bash", "--script", "echo hi $WHO; echo err >&2; exit 3", "--env", "WHO=cli"],
                url: url,
                token: token
            )
            #expect(created.status == 0)
            #expect(created.stdout == "created event 1 'greet' (ACTIVE)\n")

            let list = try await Self.cli(["event", "list"], url: url, token: token)
            #expect(list.stdout.contains("greet") && list.stdout.hasPrefix("ID"))

            let run = try await Self.cli(["event", "run", "1", "--wait"], url: url, token: token)
            #expect(run.status == 3)
            #expect(run.stdout == "hi cli\n")
            #expect(run.stderr.contains("err") && run.stderr.contains("ended FAILURE"))

            let logs = try await Self.cli(["logs", "1"], url: url, token: token)
            #expect(logs.stdout == "hi cli\n")

            let executions = try await Self.cli(["execution", "list", "--json"], url: url, token: token)
            let decoded = try JSONDecoder.cronium.decode([Execution].self, from: Data(executions.stdout.utf8))
            #expect(decoded.map(\.exitCode) == [3])

            let updated = try await Self.cli(["event", "update", "1", "--script", "echo fixed"], url: url, token: token)
            #expect(updated.status == 0)
            #expect(try await Self.cli(["event", "run", "1", "--wait"], url: url, token: token).status == 0)
            // An event with runs: -y, or no deletion at all (there is no terminal to ask on).
            let unconfirmed = try await Self.cli(["event", "delete", "1"], url: url, token: token)
            #expect(
                unconfirmed.status == 64 && unconfirmed.stderr.contains("has runs, and deleting it deletes their logs too: add -y"),
                "\(unconfirmed.stderr)"
            )
            #expect(try await Self.cli(["event", "show", "1"], url: url, token: token).status == 0)
            #expect(try await Self.cli(["event", "delete", "1", "-y"], url: url, token: token).stdout == "deleted event 1\n")
            // One without runs goes at once.
            _ = try await Self.cli(["event", "create", "--name", "spare", "--type", "bash", "--script", "true"], url: url, token: token)
            #expect(try await Self.cli(["event", "delete", "2"], url: url, token: token).stdout == "deleted event 2\n")
        }
    }

    @Test func followingARunningLogStreamsUntilTheEnd() async throws {
        try await Self.withLiveServer { url, token in
            _ = try await Self.cli(
                [
                    "event", "create", "--name", "slow", "--type", "python", "--script",
                    "import time\nprint('a', flush=True)\ntime.sleep(0.3)\nprint('b')",
                ],
                url: url,
                token: token
            )
            let started = try await Self.cli(["event", "run", "1"], url: url, token: token)
            let id = try #require(started.stdout.split(separator: " ").last.map { String($0).trimmingCharacters(in: .whitespacesAndNewlines) })
            let follow = try await Self.cli(["logs", id, "--follow"], url: url, token: token)
            #expect(follow.status == 0)
            #expect(follow.stdout == "a\nb\n")
        }
    }

    /// Ctrl-C while following (`logs -f`, `run --wait`) leaves the run going and says how to cancel it.
    @Test func interruptingAFollowLeavesTheRunGoing() async throws {
        try await Self.withLiveServer { url, token in
            _ = try await Self.cli(["event", "create", "--name", "long", "--type", "bash", "--script", "echo up; sleep 30"], url: url, token: token)
            for arguments in [["event", "run", "1", "--wait"], ["logs", "1", "-f"]] {
                let stopped = try await Self.cli(arguments, url: url, token: token, interruptOn: "up\n")
                #expect(stopped.status == 130, "\(arguments): \(stopped.stderr)")
                #expect(
                    stopped.stderr.contains("stopped following; execution 1 goes on. To cancel it: cronium execution cancel 1"),
                    "\(stopped.stderr)"
                )
            }
            let list = try await Self.cli(["execution", "list", "-o", "json"], url: url, token: token)
            let executions = try JSONDecoder.cronium.decode([Execution].self, from: Data(list.stdout.utf8))
            #expect(executions.count == 1 && executions.first?.status == .running)
            #expect(try await Self.cli(["execution", "cancel", "1"], url: url, token: token).status == 0)
        }
    }

    @Test func badInputAndMissingServerAreClearErrors() async throws {
        try await Self.withLiveServer { url, token in
            // Refused by the server: 1, the message once, on stderr only.
            let invalid = try await Self.cli(["event", "create", "--name", "x", "--type", "bash"], url: url, token: token)
            #expect(invalid.status == 1)
            #expect(invalid.stderr.contains("content: a BASH event needs a script"))
            #expect(invalid.stderr.components(separatedBy: "Error:").count == 2, "printed once: \(invalid.stderr)")
            #expect(invalid.stdout.isEmpty)
            // Usage errors, found while parsing or while running: 64, with the command's own usage.
            let badType = try await Self.cli(["event", "create", "--name", "x", "--type", "ruby"], url: url, token: token)
            #expect(badType.status == 64 && badType.stderr.contains("Usage: cronium event create"), "\(badType.stderr)")
            #expect(badType.stderr.contains("See 'cronium event create --help'"), "\(badType.stderr)")
            let badDuration = try await Self.cli(
                ["event", "create", "--name", "x", "--type", "bash", "--script", "true", "--every", "soon"],
                url: url,
                token: token
            )
            #expect(badDuration.status == 64 && badDuration.stderr.contains("not a duration"))
            let zoneAlone = try await Self.cli(
                ["event", "create", "--name", "x", "--type", "bash", "--script", "true", "--tz", "Europe/Berlin"],
                url: url,
                token: token
            )
            #expect(zoneAlone.status == 64 && zoneAlone.stderr.contains("need --cron, --every or --at"))
            let missingFile = try await Self.cli(
                ["event", "create", "--name", "x", "--type", "bash", "--file", "/no/such/script.sh"],
                url: url,
                token: token
            )
            #expect(missingFile.status == 64 && missingFile.stderr.contains("--file /no/such/script.sh: no such file"), "\(missingFile.stderr)")
            let tooMany = try await Self.cli(["execution", "list", "--limit", "501"], url: url, token: token)
            #expect(tooMany.status == 64 && tooMany.stderr.contains("--limit must be between 1 and 500"), "\(tooMany.stderr)")
            let unknownOption = try await Self.cli(["event", "list", "--colour"], url: url, token: token)
            #expect(unknownOption.status == 64 && unknownOption.stderr.contains("Usage: cronium event list"), "\(unknownOption.stderr)")
            // Not found: 3, for a request and for a stream.
            let unknownRun = try await Self.cli(["logs", "999", "-f"], url: url, token: token)
            #expect(unknownRun.status == 3 && unknownRun.stderr.contains("execution 999 does not exist"), "\(unknownRun.stderr)")
            #expect(try await Self.cli(["event", "show", "999"], url: url, token: token).status == 3)
            // Not allowed: 4.
            let noToken = try await Self.cli(["event", "list"], url: url, token: "crn_wrong")
            #expect(noToken.status == 4 && noToken.stderr.contains("unknown or was revoked"))
            // --url takes host:port as well as a URL.
            let bare = url.replacingOccurrences(of: "http://", with: "")
            #expect(try await Self.cli(["event", "list", "--url", bare], token: token).status == 0)
            // A second server on the same port: one line, and no first start that shows a password.
            let other = try TemporaryDirectory("cli-port")
            defer { other.remove() }
            let port = String(bare.split(separator: ":").last ?? "")
            let taken = try await Self.cli(["serve", "--data-dir", other.path, "--port", port])
            #expect(
                taken.status == 1
                    && taken.stderr.contains("port \(port) on 127.0.0.1 is in use; stop what listens there or choose another with --port"),
                "\(taken.stderr)"
            )
            #expect(!taken.stdout.contains("First start") && !FileManager.default.fileExists(atPath: other.appending("initial-admin-token")))
        }
        // Unreachable: 69, in words a person can act on.
        let down = try await Self.cli(["event", "list"], url: "127.0.0.1:1", token: "x")
        #expect(down.status == 69 && down.stderr.contains("cannot reach Cronium at http://127.0.0.1:1: nothing answers there"), "\(down.stderr)")
        #expect(down.stderr.contains("--url or CRONIUM_URL"))
        // --run-uids is checked before anything starts: a range over an account, root, too few ids.
        for (range, problem) in [
            ("0-100", "must not include 0"), ("65534-65600", "includes the account nobody"), ("5000-5003", "holds 4 ids"),
            ("10-x", "must be FIRST-LAST"),
        ] {
            let refused = try await Self.cli(["serve", "--run-uids", range, "--data-dir", "/nonexistent/never-created"])
            #expect(refused.status == 64 && refused.stderr.contains(problem), "\(range): \(refused.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: "/nonexistent"))
        // A bad cron is a bad value like any other.
        let badCron = try await Self.cli(["schedule", "next", "61 * * * *"])
        #expect(badCron.status == 64 && badCron.stderr.contains("Usage: cronium schedule next"), "\(badCron.stderr)")
    }

    /// -q prints ids only, -o json the server's JSON; a name with a line break stays on its row;
    /// `version` shows both ends.
    @Test func shortFlagsTablesAndVersion() async throws {
        try await Self.withLiveServer { url, token in
            let quiet = try await Self.cli(
                ["event", "create", "--name", "two\nlines", "--type", "bash", "--script", "true", "-q"],
                url: url,
                token: token
            )
            #expect(quiet.status == 0 && quiet.stdout == "1\n", "\(quiet.stdout)")
            _ = try await Self.cli(
                ["event", "create", "--name", String(repeating: "long", count: 40), "--type", "bash", "--script", "true"],
                url: url,
                token: token
            )
            let ids = try await Self.cli(["event", "list", "-q"], url: url, token: token)
            #expect(ids.stdout == "1\n2\n")
            let table = try await Self.cli(["event", "list"], url: url, token: token)
            let rows = table.stdout.split(separator: "\n")
            #expect(rows.count == 3 && rows[1].contains("two⏎lines") && rows[2].contains("…"), "\(table.stdout)")
            let json = try await Self.cli(["event", "list", "-o", "json"], url: url, token: token)
            #expect(try JSONDecoder.cronium.decode([Event].self, from: Data(json.stdout.utf8)).count == 2)
            let waited = try await Self.cli(["event", "run", "1", "--wait", "-q"], url: url, token: token)
            #expect(
                waited.status == 0 && Int(waited.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) != nil && waited.stderr.isEmpty,
                "\(waited)"
            )
            let started = try await Self.cli(["event", "run", "1", "-q"], url: url, token: token)
            #expect(Int(started.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) != nil, "\(started.stdout)")
            let paused = try await Self.cli(["event", "pause", "1"], url: url, token: token)
            #expect(paused.status == 0 && paused.stdout == "paused event 1 'two\nlines' (PAUSED)\n", "\(paused.stdout)")
            let resumed = try await Self.cli(["event", "resume", "1"], url: url, token: token)
            #expect(resumed.status == 0 && resumed.stdout.hasSuffix("(ACTIVE)\n"))
            let shown = try await Self.cli(
                ["execution", "show", started.stdout.trimmingCharacters(in: .whitespacesAndNewlines)],
                url: url,
                token: token
            )
            #expect(
                shown.status == 0 && (try? JSONDecoder.cronium.decode(Execution.self, from: Data(shown.stdout.utf8)))?.eventId == 1,
                "\(shown.stdout)"
            )
            #expect(try await Self.cli(["execution", "show", "999"], url: url, token: token).status == 3)
            // --status filters the list; the ledger shows each due occurrence.
            let active = try await Self.cli(["event", "list", "--status", "active", "-q"], url: url, token: token)
            #expect(active.stdout == "1\n2\n")
            #expect(try await Self.cli(["event", "list", "--status", "sleeping"], url: url, token: token).status == 64)
            _ = try await Self.cli(
                ["event", "create", "--name", "tick", "--type", "bash", "--script", "true", "--every", "1s"],
                url: url,
                token: token
            )
            // Until one tick has run (a loaded machine may take longer than a second or two).
            _ = try await eventually(timeout: .seconds(20)) {
                try await Self.cli(["event", "ledger", "3"], url: url, token: token).stdout.split(separator: "\n").dropFirst().contains {
                    $0.contains("RAN")
                }
            }
            _ = try await Self.cli(["event", "pause", "3"], url: url, token: token)
            let ledger = try await Self.cli(["event", "ledger", "3"], url: url, token: token)
            let ledgerRows = ledger.stdout.split(separator: "\n")
            #expect(ledgerRows.first?.hasPrefix("DUE") == true && ledgerRows.dropFirst().contains { $0.contains("RAN") }, "\(ledger.stdout)")
            #expect(try await Self.cli(["event", "ledger", "3", "--limit", "0"], url: url, token: token).status == 64)
            let version = try await Self.cli(["version"], url: url, token: token)
            #expect(version.status == 0 && version.stdout == "client 0.1.0 (built from a checkout)\nserver 0.1.0 at \(url)\n", "\(version.stdout)")
        }
        let down = try await Self.cli(["version"], url: "127.0.0.1:1")
        #expect(down.status == 69 && down.stdout == "client 0.1.0 (built from a checkout)\n" && down.stderr.contains("cannot reach Cronium"))
    }

    @Test func usersAndTokensThroughTheCLI() async throws {
        try await Self.withLiveServer { url, token in
            let user = try await Self.cli(["user", "create", "dana", "--role", "viewer"], url: url, token: token)
            #expect(user.status == 0 && user.stdout.contains("created user dana (viewer)") && user.stdout.contains("password: "))
            // The password never as an argument: from standard input, or asked on a terminal.
            let piped = try await Self.cli(["user", "create", "erin", "--password-stdin"], url: url, token: token, input: "correct horse battery\n")
            #expect(piped.status == 0 && piped.stdout == "created user erin (user)\n", "\(piped.stdout) \(piped.stderr)")
            let short = try await Self.cli(["user", "create", "fred", "--password-stdin"], url: url, token: token, input: "short\n")
            #expect(short.status == 1 && short.stderr.contains("at least 8"), "\(short.stderr)")
            let noTerminal = try await Self.cli(["user", "create", "gina", "--ask-password"], url: url, token: token)
            #expect(noTerminal.status == 64 && noTerminal.stderr.contains("no terminal to ask for the password on"), "\(noTerminal.stderr)")
            #expect(try await Self.cli(["user", "create", "hal", "--password", "x"], url: url, token: token).status == 64)
            let created = try await Self.cli(["token", "create", "ci"], url: url, token: token)
            let secret = created.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(secret.hasPrefix("crn_"))
            #expect(try await Self.cli(["event", "list"], url: url, token: secret).status == 0)
            let tokens = try await Self.cli(["token", "list", "--json"], url: url, token: token)
            let ci = try JSONDecoder.cronium.decode([APIToken].self, from: Data(tokens.stdout.utf8)).first { $0.name == "ci" }!
            #expect(ci.lastUsedAt != nil)
            let id = ci.id
            #expect(try await Self.cli(["token", "revoke", String(id)], url: url, token: token).status == 0)
            #expect(try await Self.cli(["event", "list"], url: url, token: secret).status != 0)
        }
    }

    @Test func scheduleNextPrintsFireTimesAcrossDST() async throws {
        let result = try await Self.cli(["schedule", "next", "30 2 * * *", "--tz", "Europe/Berlin", "--from", "2027-03-27T00:00:00Z", "--count", "3"])
        #expect(result.status == 0)
        #expect(result.stdout == "2027-03-27T02:30:00+01:00\n2027-03-28T03:30:00+02:00\n2027-03-29T02:30:00+02:00\n")
        let skip = try await Self.cli([
            "schedule", "next", "30 2 * * *", "--tz", "Europe/Berlin", "--from", "2027-03-27T00:00:00Z", "--count", "2", "--dst-gap", "skip",
        ])
        #expect(skip.stdout == "2027-03-27T02:30:00+01:00\n2027-03-29T02:30:00+02:00\n")
        let bad = try await Self.cli(["schedule", "next", "61 * * * *"])
        #expect(bad.status != 0 && bad.stderr.contains("minute"))
    }

    /// The bash script completes commands and subcommands when sourced; every shell gets one.
    @Test func completionScriptsCompleteCommands() async throws {
        for shell in ["bash", "zsh", "fish"] {
            let script = try await Self.cli(["completion", shell])
            #expect(script.status == 0 && script.stdout.contains("cronium"), "\(shell): \(script.stderr)")
        }
        #expect(try await Self.cli(["completion", "tcsh"]).status == 64)
        let directory = try TemporaryDirectory("completion")
        defer { directory.remove() }
        let file = directory.appending("cronium.bash")
        try (try await Self.cli(["completion", "bash"])).stdout.write(toFile: file, atomically: true, encoding: .utf8)
        let probe = """
            source \(file)
            complete_line() { COMP_LINE="$1"; COMP_POINT=${#1}; read -ra COMP_WORDS <<< "$1"; [[ "$1" == *" " ]] && COMP_WORDS+=(""); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _cronium cronium "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"; echo "${COMPREPLY[*]}"; }
            complete_line "cronium ev"
            complete_line "cronium event ex"
            complete_line "cronium workflow le"
            complete_line "cronium workflow hook ro"
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = ["-c", probe]
        process.environment = ["PATH": URL(fileURLWithPath: Self.binary).deletingLastPathComponent().path + ":/usr/bin:/bin"]
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let output = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        // COMPREPLY keeps the earlier lines' words: each line adds its own.
        #expect(output == "event\nevent export\nevent export ledger\nevent export ledger rotate\n", "\(output)")
    }
}

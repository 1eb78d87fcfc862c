import CroniumCore
import CroniumTesting
import Foundation
import Testing

@testable import CroniumServer

/// `cronium login`/`logout` and `event update`'s schedule flags, through the real binary.
@Suite struct CLISessionTests {
    @Test func loginSavesATokenForThatServerOnlyAndLogoutRevokesIt() async throws {
        try await CLITests.withLiveServer { url, adminToken in
            let home = try TemporaryDirectory("cli-home")
            defer { home.remove() }
            let config = home.appending(".config/cronium/config.json")
            func cli(_ arguments: [String], input: String? = nil) async throws -> CLITests.Result {
                try await CLITests.cli(arguments, input: input, home: home.path)
            }
            func savedToken() throws -> String {
                let saved = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: config))) as? [String: Any]
                return try #require(((saved?["logins"] as? [String: Any])?[url] as? [String: Any])?["token"] as? String)
            }
            _ = try await CLITests.cli(
                ["user", "create", "alice", "--password-stdin"],
                url: url,
                token: adminToken,
                input: "correct horse battery\n"
            )

            let wrong = try await cli(["login", "--url", url, "--user", "alice", "--password-stdin"], input: "wrong password\n")
            #expect(wrong.status == 4 && wrong.stderr.contains("wrong username or password"), "\(wrong.stderr)")
            #expect(!FileManager.default.fileExists(atPath: config), "a refused login saves nothing")

            let login = try await cli(["login", "--url", url, "--user", "alice", "--password-stdin"], input: "correct horse battery\n")
            #expect(login.status == 0 && login.stdout == "logged in to \(url) as alice; saved to \(config)\n", "\(login.stdout)\(login.stderr)")
            let attributes = try FileManager.default.attributesOfItem(atPath: config)
            #expect((attributes[.posixPermissions] as? Int) == 0o600)
            #expect((try FileManager.default.attributesOfItem(atPath: home.appending(".config/cronium"))[.posixPermissions] as? Int) == 0o700)
            #expect(!(try String(contentsOfFile: config, encoding: .utf8)).contains("correct horse"), "the password is never saved")

            // Later commands need neither --url nor --token; the token is alice's.
            let mine = try await cli(["token", "list", "-o", "json"])
            let tokens = try JSONDecoder.cronium.decode([APIToken].self, from: Data(mine.stdout.utf8))
            #expect(mine.status == 0 && tokens.count == 1 && tokens[0].name.hasPrefix("cronium login on "), "\(mine.stdout)\(mine.stderr)")
            // The token goes only to the server it was saved for: another spelling of an address is another server.
            let port = url.split(separator: ":").last!
            let elsewhere = try await cli(["event", "list", "--url", "localhost:\(port)"])
            #expect(elsewhere.status == 4, "\(elsewhere.stderr)")

            // A token brought by the user replaces the login; the token login had made is revoked.
            let first = try savedToken()
            #expect(try await CLITests.cli(["event", "list"], url: url, token: first).status == 0)
            let brought = try await cli(["login", "--with-token", "--url", url], input: adminToken + "\n")
            #expect(brought.stdout.contains("as admin"), "\(brought.stdout)\(brought.stderr)")
            #expect(try savedToken() == adminToken)
            #expect(try await CLITests.cli(["event", "list"], url: url, token: first).status == 4)

            // Logout forgets it, and leaves a token it did not create alone.
            let logout = try await cli(["logout"])
            #expect(logout.status == 0 && logout.stdout == "logged out of \(url)\n", "\(logout.stdout)\(logout.stderr)")
            #expect(try await cli(["event", "list"]).status != 0)
            #expect(try await CLITests.cli(["event", "list"], url: url, token: adminToken).status == 0)
            let again = try await cli(["logout", "--url", url])
            #expect(again.status == 3 && again.stderr.contains("not logged in to \(url)"))

            // A login made from a password is revoked by logout.
            _ = try await cli(["login", "--url", url, "--user", "alice", "--password-stdin"], input: "correct horse battery\n")
            let secret = try savedToken()
            #expect(try await CLITests.cli(["event", "list"], url: url, token: secret).status == 0)
            let revoking = try await cli(["logout"])
            #expect(revoking.stdout.contains("its token") && revoking.stdout.contains("is revoked"), "\(revoking.stdout)")
            #expect(try await CLITests.cli(["event", "list"], url: url, token: secret).status == 4)

            // A damaged file is named, not ignored.
            try "{not json".write(toFile: config, atomically: true, encoding: .utf8)
            let damaged = try await cli(["event", "list"])
            #expect(damaged.status == 1 && damaged.stderr.contains("\(config) is not a configuration Cronium wrote"), "\(damaged.stderr)")
            let noWay = try await cli(["login", "--url", url])
            #expect(noWay.status != 0)
        }
    }

    /// `--cron` alone keeps the zone and the policies; `--tz` alone moves the existing schedule.
    @Test func updatingAScheduleKeepsItsZoneAndPolicies() async throws {
        try await CLITests.withLiveServer { url, token in
            func schedule() async throws -> Schedule? {
                let shown = try await CLITests.cli(["event", "show", "1"], url: url, token: token)
                return try JSONDecoder.cronium.decode(Event.self, from: Data(shown.stdout.utf8)).schedule
            }
            let created = try await CLITests.cli(
                [
                    "event", "create", "--name", "nightly", "--type", "bash", "--script", "true", "--cron", "0 3 * * *", "--tz", "Europe/Berlin",
                    "--misfire", "all", "--overlap", "queue", "--dst-gap", "skip",
                ],
                url: url,
                token: token
            )
            #expect(created.status == 0, "\(created.stderr)")
            // The answer reports the new schedule's next fire, not the one the old schedule had planned.
            let moved = try await CLITests.cli(["event", "update", "1", "--cron", "30 4 * * *"], url: url, token: token)
            #expect(moved.status == 0 && moved.stdout.contains("next fire at ") && moved.stdout.contains("T04:30:00+0"), "\(moved.stdout)")
            var current = try #require(try await schedule())
            #expect(current.cron == "30 4 * * *" && current.timeZone == "Europe/Berlin")
            #expect(current.misfire == .all && current.overlap == .queue && current.dstGap == .skip)
            #expect(try await CLITests.cli(["event", "update", "1", "--tz", "America/New_York"], url: url, token: token).status == 0)
            current = try #require(try await schedule())
            #expect(current.cron == "30 4 * * *" && current.timeZone == "America/New_York" && current.misfire == .all)
            #expect(try await CLITests.cli(["event", "update", "1", "--every", "5m", "--overlap", "skip"], url: url, token: token).status == 0)
            current = try #require(try await schedule())
            #expect(current.kind == .interval && current.intervalSeconds == 300 && current.misfire == .all && current.overlap == .skip)
            // An event without a schedule has nothing for --tz to move.
            _ = try await CLITests.cli(["event", "create", "--name", "by hand", "--type", "bash", "--script", "true"], url: url, token: token)
            let nothing = try await CLITests.cli(["event", "update", "2", "--tz", "Europe/Berlin"], url: url, token: token)
            #expect(nothing.status == 64 && nothing.stderr.contains("the event has no schedule to change"), "\(nothing.stderr)")
        }
    }
}

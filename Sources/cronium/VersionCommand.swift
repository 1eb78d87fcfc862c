import ArgumentParser
import CroniumRunnerKit
import Foundation

/// `cronium version`: this binary's version, commit and build date, and the server's version, so
/// that a mismatch is seen at once.
struct VersionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "version", abstract: "Show the client's and the server's versions.")
    @OptionGroup var client: ClientOptions

    struct Health: Codable {
        let version: String
        let commit: String?
    }

    func run() async throws {
        let api = try client.client
        let server: Health
        do {
            server = try await api.get("/health")
        } catch let error as CLIError {
            print("client \(BuildInfo.description)")
            throw error
        }
        if client.json {
            var both = ["client": BuildInfo.version, "server": server.version, "url": api.baseURL]
            both["commit"] = BuildInfo.commit
            both["built"] = BuildInfo.date
            both["serverCommit"] = server.commit
            return printJSON(try JSONEncoder().encode(both))
        }
        print("client \(BuildInfo.description)")
        print("server \(server.version)\(server.commit.map { " (commit \($0))" } ?? "") at \(api.baseURL)")
    }
}

import ArgumentParser
import CroniumServer
import Foundation

/// `cronium version`: this client's version and the server's, so a mismatch is seen at once.
struct VersionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "version", abstract: "Show the client's and the server's versions.")
    @OptionGroup var client: ClientOptions

    struct Health: Codable {
        let version: String
    }

    func run() async throws {
        let api = try client.client
        let server: Health
        do {
            server = try await api.get("/health")
        } catch let error as CLIError {
            print("client \(CroniumServer.version)")
            throw error
        }
        if client.json {
            let both = ["client": CroniumServer.version, "server": server.version, "url": api.baseURL]
            return printJSON(try JSONEncoder().encode(both))
        }
        print("client \(CroniumServer.version)")
        print("server \(server.version) at \(api.baseURL)")
    }
}

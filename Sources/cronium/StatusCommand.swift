import ArgumentParser
import Foundation
import NIOHTTP1

/// `cronium status`: whether the server is ready (`/ready`), and what bounds its runs. Its exit
/// status is the answer, so that it serves as a container's or a monitor's health check:
/// 0 ready, 1 not ready (starting, or its database does not answer), 69 unreachable.
struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show whether the server is ready, and what bounds its runs.",
        discussion: "Exit status 0 when ready, 1 when not, 69 when unreachable; with --quiet it prints nothing (for health checks)."
    )
    @OptionGroup var client: ClientOptions

    struct Ready: Decodable {
        struct Protection: Decodable {
            let name: String
            let active: Bool
            let detail: String
        }
        struct Engine: Decodable {
            let available: Bool
            let detail: String
        }
        let status: String
        let version: String
        let commit: String?
        let sandbox: [Protection]
        let containerEngine: Engine
    }

    func run() async throws {
        let api = try client.client
        let data: Data
        do {
            data = try await api.send(.GET, "/ready")
        } catch let error as CLIError where client.quiet {
            throw ExitCode(error.code.rawValue)
        }
        if client.json { return printJSON(data) }
        let ready = try APIClient.decoder.decode(Ready.self, from: data)
        guard !client.quiet else { return }
        print("\(ready.status) at \(api.baseURL): Cronium \(ready.version)\(ready.commit.map { " (commit \($0))" } ?? "")")
        for protection in ready.sandbox {
            print("  \(protection.name): \(protection.active ? "active" : "MISSING") — \(protection.detail)")
        }
        print("  container engine: \(ready.containerEngine.available ? "available" : "unavailable") — \(ready.containerEngine.detail)")
    }
}

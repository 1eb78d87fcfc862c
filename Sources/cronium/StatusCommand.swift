import ArgumentParser
import CroniumCore
import CroniumEngine
import Foundation
import NIOCore
import NIOHTTP1

/// `cronium status`: whether the server is ready (`/ready`), what bounds its runs, and, with a
/// token, how big its store is and what retention keeps (`/api/v1/system/storage`). Its exit
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
        guard !client.quiet else { return }
        // Without a token (a health check's case) the store's figures are left out.
        let storage = api.token == nil ? nil : try? await api.send(.GET, "/api/v1/system/storage")
        if client.json {
            var object = try JSONSerialization.jsonObject(with: data) as? [String: Any] ?? [:]
            object["storage"] = try storage.map { try JSONSerialization.jsonObject(with: $0) }
            return printJSON(try JSONSerialization.data(withJSONObject: object))
        }
        let ready = try APIClient.decoder.decode(Ready.self, from: data)
        print("\(ready.status) at \(api.baseURL): Cronium \(ready.version)\(ready.commit.map { " (commit \($0))" } ?? "")")
        for protection in ready.sandbox {
            print("  \(protection.name): \(protection.active ? "active" : "MISSING") — \(protection.detail)")
        }
        print("  container engine: \(ready.containerEngine.available ? "available" : "unavailable") — \(ready.containerEngine.detail)")
        if let storage, let report = try? APIClient.decoder.decode(StorageReport.self, from: storage) { print(report.lines.joined(separator: "\n")) }
    }
}

/// `cronium purge`: a retention purge now, rather than at the next turn.
struct PurgeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "purge",
        abstract: "Remove now the runs, logs and ledger rows that have outlived their retention limits (administrators).",
        discussion: "The server also does this every --purge-interval seconds; `cronium status` shows what it keeps and what its last purge removed."
    )
    @OptionGroup var client: ClientOptions

    func run() async throws {
        var api = try client.client
        // A first purge of millions of rows takes minutes; the server paces it and logs its progress.
        api.timeout = .hours(2)
        let data = try await api.send(.POST, "/api/v1/system/purge")
        if client.json { return printJSON(data) }
        let purge = try APIClient.decoder.decode(StorageReport.LastPurge.self, from: data)
        guard !client.quiet else { return }
        print(purge.summary)
    }
}

extension StorageReport.LastPurge {
    /// `removed 3 runs, 12 logs; gave back 1.2 MiB`.
    var summary: String {
        let removed = StorageReport.describe(removed)
        return removed == "nothing" ? "removed nothing" : "removed \(removed); gave back \(formatBytes(freedBytes))"
    }
}

extension StorageReport {
    /// `3 runs, 12 logs`, or `nothing`.
    static func describe(_ removed: [String: Int]) -> String {
        let nouns = [
            "runs": "run", "logs": "log", "workflow_runs": "workflow run", "event_ledger": "ledger row", "workflow_ledger": "workflow ledger row",
        ]
        let counts = removed.filter { $0.value > 0 }.sorted { $0.key < $1.key }.map { counted($0.value, nouns[$0.key] ?? $0.key) }
        return counts.isEmpty ? "nothing" : counts.joined(separator: ", ")
    }

    /// `  storage: …` and `  retention: …`, as `cronium status` prints them.
    var lines: [String] {
        let figures = storage
        func days(_ value: Int?, _ what: String) -> String? {
            guard let value else { return nil }
            return value == 0 ? "\(what) for ever" : "\(what) \(counted(value, "day"))"
        }
        var keeps = [days(retention.runsDays, "runs"), days(retention.logsDays, "logs")].compactMap { $0 }
        if let last = retention.lastRuns, last > 0 { keeps.append("at most the last \(last) runs of each event") }
        var lines = [
            "  storage: database \(formatBytes(figures.databaseBytes)) (\(formatBytes(figures.freeBytes)) free), "
                + "\(counted(Int(figures.runs), "run")), logs \(formatBytes(figures.logBytes))",
            "  retention: keeps \(keeps.joined(separator: ", ")) (events may say otherwise)",
        ]
        if let purge = lastPurge {
            lines.append("  last purge: \(purge.endedAt.formatted(.iso8601)), \(purge.summary); since the start: \(Self.describe(removedSinceStart))")
        }
        return lines
    }
}

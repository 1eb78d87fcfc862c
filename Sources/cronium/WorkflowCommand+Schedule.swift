import ArgumentParser
import CroniumCore
import Foundation
import NIOHTTP1

/// `cronium workflow ledger|next|pause|resume`: a scheduled workflow's timetable, as for events.
extension WorkflowCommand {
    struct Ledger: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "ledger",
            abstract: "The workflow's schedule ledger: every due occurrence, run or not, newest first."
        )
        @OptionGroup var client: ClientOptions
        @Argument(help: "Workflow id.") var id: WorkflowID
        @Option(help: "How many rows (1-1000).") var limit = 20

        func validate() throws {
            guard (1...1000).contains(limit) else { throw ValidationError("--limit must be between 1 and 1000") }
        }

        func run() async throws {
            let data = try await client.client.send(.GET, "/api/v1/workflows/\(id)/ledger?limit=\(limit)")
            if client.json { return printJSON(data) }
            let rows = try APIClient.decoder.decode([WorkflowOccurrence].self, from: data)
            client.printTable(
                ["DUE", "OUTCOME", "RUN", "REASON"],
                rows.map {
                    [formatISO8601($0.scheduledFor, timeZone: .gmt), $0.outcome.rawValue, $0.workflowRunId.map(String.init) ?? "-", $0.reason ?? ""]
                }
            )
        }
    }

    struct Next: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "next",
            abstract: "Print the workflow's next fire times, one ISO-8601 time per line in its schedule's zone.",
            discussion: "For a workflow that is not ACTIVE, the times it would fire once it is (a note on stderr says so)."
        )
        @OptionGroup var client: ClientOptions
        @Argument(help: "Workflow id.") var id: WorkflowID
        @Option(name: [.short, .long], help: "How many times (1-1000).") var count = 5

        func validate() throws {
            guard (1...1000).contains(count) else { throw ValidationError("--count must be between 1 and 1000") }
        }

        func run() async throws {
            let data = try await client.client.send(.GET, "/api/v1/workflows/\(id)/next?count=\(count)")
            if client.json { return printJSON(data) }
            let upcoming = try APIClient.decoder.decode(UpcomingWorkflowFires.self, from: data)
            EventCommand.Next.print(
                upcoming.times,
                of: "workflow \(id)",
                status: upcoming.status.rawValue,
                fires: upcoming.fires,
                timeZone: upcoming.timeZone,
                runCommand: "cronium workflow run \(id)"
            )
        }
    }

    struct Pause: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "pause",
            abstract: "Stop a workflow's schedule and webhook (status PAUSED); runs going on go on."
        )
        @OptionGroup var client: ClientOptions
        @Argument(help: "Workflow id.") var id: WorkflowID

        func run() async throws { try await WorkflowCommand.setStatus("pause", of: id, client: client) }
    }

    struct Resume: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "resume",
            abstract: "Start a workflow's schedule and webhook again (status ACTIVE)."
        )
        @OptionGroup var client: ClientOptions
        @Argument(help: "Workflow id.") var id: WorkflowID

        func run() async throws { try await WorkflowCommand.setStatus("resume", of: id, client: client) }
    }

    /// `pause` or `resume`, reporting the workflow's new status and next fire.
    static func setStatus(_ verb: String, of id: WorkflowID, client: ClientOptions) async throws {
        let data = try await client.client.send(.POST, "/api/v1/workflows/\(id)/\(verb)")
        if client.json { return printJSON(data) }
        let workflow = try APIClient.decoder.decode(Workflow.self, from: data)
        var note = ""
        if workflow.isScheduled {
            let upcoming: UpcomingWorkflowFires = try await client.client.get("/api/v1/workflows/\(id)/next?count=1")
            note = upcoming.times.first.map { ", next fire at \(formatISO8601($0, timeZone: zone(of: workflow.schedule)))" } ?? ""
        }
        client.report("\(verb == "pause" ? "paused" : "resumed") workflow \(id) '\(workflow.name)' (\(workflow.status.rawValue))\(note)", id: id)
    }
}

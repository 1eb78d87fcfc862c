import ArgumentParser
import CroniumCore
import Foundation
import NIOHTTP1

struct ExecutionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "execution",
        abstract: "List, show and cancel runs, and see the messages they sent.",
        subcommands: [List.self, Show.self, Messages.self, Cancel.self]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "Runs, newest first.")
        @OptionGroup var client: ClientOptions
        @Option(help: "Only runs of this event.") var event: EventID?
        @Option(help: "Only runs with this status.") var status: String?
        @Option(help: "At most this many (1-500).") var limit = 20

        func validate() throws {
            guard (1...500).contains(limit) else { throw ValidationError("--limit must be between 1 and 500") }
            if let status, ExecutionStatus.named(status) == nil { throw ValidationError("--status must be one of \(ExecutionStatus.validNames)") }
        }

        func run() async throws {
            var query = ["limit=\(limit)"]
            if let event { query.append("eventId=\(event)") }
            if let status { query.append("status=\(status.uppercased())") }
            let data = try await client.client.send(.GET, "/api/v1/executions?" + query.joined(separator: "&"))
            if client.json { return printJSON(data) }
            let executions = try APIClient.decoder.decode([Execution].self, from: data)
            client.printTable(
                ["ID", "EVENT", "STATUS", "TRIGGER", "ATTEMPT", "STARTED", "DURATION", "EXIT"],
                executions.map {
                    [
                        String($0.id), String($0.eventId), $0.status.rawValue, $0.trigger.rawValue, String($0.attempt),
                        $0.startedAt.map { formatISO8601($0, timeZone: .gmt) } ?? "-", $0.durationMs.map { "\($0) ms" } ?? "-",
                        $0.exitCode.map(String.init) ?? "-",
                    ]
                }
            )
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "show", abstract: "Show one run as JSON.")
        @OptionGroup var client: ClientOptions
        @Argument(help: "Execution id.") var id: ExecutionID

        func run() async throws { printJSON(try await client.client.send(.GET, "/api/v1/executions/\(id)")) }
    }

    struct Messages: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "messages",
            abstract: "The messages a run sent (its actions, a TOOL_ACTION, its script): where, how it went, what the far end said."
        )
        @OptionGroup var client: ClientOptions
        @Argument(help: "Execution id.") var id: ExecutionID

        func run() async throws {
            let execution: Execution = try await client.client.get("/api/v1/executions/\(id)")
            let deliveries = execution.deliveries ?? []
            if client.json { return printJSON(try APIClient.encoder.encode(deliveries)) }
            if deliveries.isEmpty, !client.quiet { return printError("execution \(id) sent no messages") }
            client.printTable(
                ["ID", "TOOL", "TO", "SUBJECT", "STATUS", "TRIES", "ANSWER"],
                deliveries.map {
                    [
                        String($0.id), $0.toolName, $0.to?.joined(separator: ", ") ?? "-", $0.subject ?? "-", $0.status.rawValue, String($0.attempts),
                        $0.error ?? [$0.answerStatus.map(String.init), $0.answer].compactMap { $0 }.joined(separator: " "),
                    ]
                }
            )
        }
    }

    struct Cancel: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "cancel", abstract: "Cancel a queued or running run.")
        @OptionGroup var client: ClientOptions
        @Argument(help: "Execution id.") var id: ExecutionID

        func run() async throws {
            let data = try await client.client.send(.POST, "/api/v1/executions/\(id)/cancel")
            if client.json { return printJSON(data) }
            client.report("cancelling execution \(id)", id: id)
        }
    }
}

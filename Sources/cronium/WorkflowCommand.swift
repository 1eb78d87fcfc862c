import ArgumentParser
import CroniumCore
import Foundation
import NIOHTTP1

/// `cronium workflow …`: workflows from YAML or JSON files, their runs, followed as they go.
struct WorkflowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "workflow",
        abstract: "Create, list, show, run and follow workflows (graphs of events).",
        subcommands: [
            Create.self, Update.self, List.self, Show.self, Run.self, Runs.self, Cancel.self, Delete.self, Ledger.self, Next.self, Pause.self,
            Resume.self, Export.self, Import.self, HookCommand<WorkflowHookTarget>.self,
        ]
    )

    /// `--file`: a workflow as YAML or JSON (`-` for standard input); nodes name their events.
    struct FileOption: ParsableArguments {
        @Option(name: .shortAndLong, help: "The workflow, as YAML or JSON ('-' for standard input).") var file: String

        /// Sends the file to `path` and reports the saved workflow.
        func save(_ method: HTTPMethod, _ path: String, client: ClientOptions, report: (Workflow) -> String) async throws {
            let data = try await client.client.exchange(method, path, json: try document()).body
            if client.json { return printJSON(data) }
            let workflow = try APIClient.decoder.decode(Workflow.self, from: data)
            client.report(report(workflow), id: workflow.id)
        }

        func document() throws -> Data {
            try EventDocumentYAML.json(
                from: try EventOptions.read(file, option: "--file"),
                file: file,
                expecting: "workflow: expected a mapping with name, nodes and connections"
            )
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "create", abstract: "Create a workflow from a file.")
        @OptionGroup var client: ClientOptions
        @OptionGroup var source: FileOption

        func run() async throws {
            try await source.save(.POST, "/api/v1/workflows", client: client) {
                "created workflow \($0.id) '\($0.name)' (\($0.nodes.count) node\($0.nodes.count == 1 ? "" : "s"))"
            }
        }
    }

    struct Update: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "update", abstract: "Replace what a file gives of a workflow's definition.")
        @OptionGroup var client: ClientOptions
        @Argument(help: "Workflow id.") var id: WorkflowID
        @OptionGroup var source: FileOption

        func run() async throws {
            try await source.save(.PATCH, "/api/v1/workflows/\(id)", client: client) { "updated workflow \($0.id) '\($0.name)'" }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List your workflows.")
        @OptionGroup var client: ClientOptions

        func run() async throws {
            let data = try await client.client.send(.GET, "/api/v1/workflows")
            if client.json { return printJSON(data) }
            let workflows = try APIClient.decoder.decode([Workflow].self, from: data)
            client.printTable(
                ["ID", "NAME", "STATUS", "TRIGGER", "NODES"],
                workflows.map { [String($0.id), $0.name, $0.status.rawValue, $0.trigger.rawValue, String($0.nodes.count)] }
            )
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "show", abstract: "Show a workflow as JSON, or its graph as Mermaid.")
        @OptionGroup var client: ClientOptions
        @Argument(help: "Workflow id.") var id: WorkflowID
        @Flag(help: "Print the graph as a Mermaid flowchart (it renders in Markdown viewers).") var graph = false

        func run() async throws {
            let data = try await client.client.send(.GET, "/api/v1/workflows/\(id)")
            guard graph else { return printJSON(data) }
            print(Self.mermaid(try APIClient.decoder.decode(Workflow.self, from: data)))
        }

        /// `flowchart TD`, a box per node (its key), an arrow per connection labelled with its
        /// condition; `join: all` nodes say so.
        static func mermaid(_ workflow: Workflow) -> String {
            var lines = ["flowchart TD"]
            for node in workflow.nodes {
                lines.append("  \(node.key)[\"\(node.key)\(node.join == .all ? " (join all)" : "")\"]")
            }
            for connection in workflow.connections {
                lines.append("  \(connection.from) -->|\(connection.when.rawValue)| \(connection.to)")
            }
            return lines.joined(separator: "\n")
        }
    }

    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "run",
            abstract: "Run a workflow now.",
            discussion: "With --wait, prints each node's start and end as they happen and exits 0 when the run ends SUCCESS, 1 otherwise."
        )
        @OptionGroup var client: ClientOptions
        @Argument(help: "Workflow id.") var id: WorkflowID
        @Flag(help: "Wait for the run to end, printing its nodes' starts and ends.") var wait = false
        @Option(help: "The roots' input: JSON, or @FILE with JSON in it (@- for standard input).") var input: String?

        struct Started: Decodable { let runId: WorkflowRunID }

        func run() async throws {
            let data = try await client.client.exchange(.POST, "/api/v1/workflows/\(id)/run", json: try EventCommand.runBody(input: input)).body
            let started = try APIClient.decoder.decode(Started.self, from: data)
            guard wait else {
                if client.json { return printJSON(data) }
                return client.report("started workflow run \(started.runId)", id: started.runId)
            }
            let run = try await follow(started.runId)
            if client.json { printJSON(try APIClient.encoder.encode(run)) }
            if run.status != .success { throw ExitCode(1) }
        }

        /// Polls the run (every 100 ms) and prints each node as it starts and ends, then the run's end.
        func follow(_ runId: WorkflowRunID) async throws -> WorkflowRun {
            var seen: [String: String] = [:]
            while true {
                let run: WorkflowRun = try await client.client.get("/api/v1/workflows/\(id)/runs/\(runId)")
                for node in run.nodes {
                    let line = Self.describe(node)
                    guard let line, seen[node.key] != line, !client.json, !client.quiet else { continue }
                    seen[node.key] = line
                    print(line)
                    fflush(nil)
                }
                if run.status.isFinal {
                    if !client.json { printError("workflow run \(run.id) ended \(run.status.rawValue)") }
                    return run
                }
                try await Task.sleep(for: .milliseconds(100))
            }
        }

        static func describe(_ node: WorkflowRunNode) -> String? {
            switch node.state {
            case .pending: nil
            case .running: "\(node.key): started"
            case .ended(let status, _): "\(node.key): ended \(status.rawValue)\(node.executionId.map { " (execution \($0))" } ?? "")"
            case .skipped(let reason): "\(node.key): skipped: \(reason)"
            case .cancelled: "\(node.key): cancelled"
            }
        }
    }

    struct Runs: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "runs", abstract: "List a workflow's runs, newest first.")
        @OptionGroup var client: ClientOptions
        @Argument(help: "Workflow id.") var id: WorkflowID
        @Option(help: "How many (1-1000).") var limit = 20

        func run() async throws {
            let data = try await client.client.send(.GET, "/api/v1/workflows/\(id)/runs?limit=\(limit)")
            if client.json { return printJSON(data) }
            let runs = try APIClient.decoder.decode([WorkflowRun].self, from: data)
            client.printTable(
                ["RUN", "STATUS", "TRIGGER", "STARTED", "NODES"],
                runs.map { run in
                    let ended = run.nodes.filter { if case .ended = $0.state { true } else { false } }.count
                    return [
                        String(run.id), run.status.rawValue, run.trigger.rawValue, formatISO8601(run.createdAt, timeZone: .gmt),
                        "\(ended)/\(run.nodes.count) ran",
                    ]
                }
            )
        }
    }

    struct Cancel: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "cancel", abstract: "Cancel a workflow run.")
        @OptionGroup var client: ClientOptions
        @Argument(help: "Workflow id.") var id: WorkflowID
        @Argument(help: "Run id.") var run: WorkflowRunID

        func run() async throws {
            let data = try await client.client.send(.POST, "/api/v1/workflows/\(id)/runs/\(run)/cancel")
            if client.json { return printJSON(data) }
            client.report("cancelling workflow run \(run)", id: run)
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "delete", abstract: "Delete a workflow and its runs.")
        @OptionGroup var client: ClientOptions
        @Argument(help: "Workflow id.") var id: WorkflowID

        func run() async throws {
            _ = try await client.client.send(.DELETE, "/api/v1/workflows/\(id)")
            client.report("deleted workflow \(id)", id: id)
        }
    }
}

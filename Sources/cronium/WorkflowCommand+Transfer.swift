import ArgumentParser
import CroniumCore
import Foundation
import NIOHTTP1

/// `cronium workflow export|import`: workflows with the events they run, as one document.
extension WorkflowCommand {
    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "export",
            abstract: "Print workflows, with the events they run, as a YAML (or JSON) document that `workflow import` makes again.",
            discussion: "Nodes and actions name events and workflows; no ids. Example: cronium workflow export 2 > deploy.yaml"
        )
        @OptionGroup var client: ClientOptions
        @Argument(help: "Workflow ids (all of yours when none).") var ids: [WorkflowID] = []
        @Option(help: "yaml (the default) or json.") var format: EventCommand.Export.Format = .yaml

        func run() async throws {
            let query = ids.isEmpty ? "" : "?" + ids.map { "id=\($0)" }.joined(separator: "&")
            let data = try await client.client.send(.GET, "/api/v1/workflows/export\(query)")
            if client.json || format == .json { return printJSON(data) }
            print(try EventDocumentYAML.encode(try APIClient.decoder.decode(EventDocument.self, from: data)), terminator: "")
        }
    }

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "import",
            abstract: "Create or change your workflows, and the events they run, to match a document, by name.",
            discussion: "The same as `event import`: events first, then workflows; all of it or, on any problem, nothing."
        )
        @OptionGroup var client: ClientOptions
        @Argument(help: "The document ('-' for stdin).") var file: String
        @Flag(help: "Check the document and show what would change, changing nothing.") var dryRun = false

        func run() async throws {
            let json = try EventDocumentYAML.json(from: try EventOptions.read(file, option: "import"), file: file)
            let data = try await client.client.exchange(.POST, "/api/v1/events/import\(dryRun ? "?dryRun=true" : "")", json: json).body
            if client.json { return printJSON(data) }
            EventCommand.Import.print(try APIClient.decoder.decode(ImportReport.self, from: data), quiet: client.quiet)
        }
    }
}

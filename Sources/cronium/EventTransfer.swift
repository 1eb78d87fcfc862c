import ArgumentParser
import CroniumCore
import Foundation
import NIOHTTP1
import Yams

extension EventCommand {
    /// `event export`: the events as a document (YAML by default) that `event import` makes again.
    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "export",
            abstract: "Print events as a YAML (or JSON) document that `event import` makes again.",
            discussion: """
                No ids, owners or counters: events are matched by name on import. Fields at their \
                defaults are left out. Example: cronium event export --tag ops > ops.yaml
                """
        )
        @OptionGroup var client: ClientOptions
        @OptionGroup var filter: EventFilter
        @Option(help: "yaml (the default) or json.") var format: Format = .yaml

        enum Format: String, ExpressibleByArgument, CaseIterable { case yaml, json }

        func run() async throws {
            let data = try await client.client.send(.GET, "/api/v1/events/export\(filter.query)")
            if client.json || format == .json { return printJSON(data) }
            let document = try APIClient.decoder.decode(EventDocument.self, from: data)
            print(try EventDocumentYAML.encode(document), terminator: "")
        }
    }

    /// `event import FILE`: creates or changes the caller's events to match a document.
    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "import",
            abstract: "Create or change your events (and workflows) to match a YAML or JSON document, by name.",
            discussion: """
                All of it or, on any problem, nothing. An event of yours with the same name is changed \
                (the fields the document gives); one without is created. --dry-run shows what would \
                happen. Reads what `event export` and `event list -o json` print.
                """
        )
        @OptionGroup var client: ClientOptions
        @Argument(help: "The document ('-' for stdin).") var file: String
        @Flag(help: "Check the document and show what would change, changing nothing.") var dryRun = false

        func run() async throws {
            let contents = try EventOptions.read(file, option: "import")
            let json = try EventDocumentYAML.json(from: contents, file: file)
            let data: Data
            do {
                data = try await client.client.exchange(.POST, "/api/v1/events/import\(dryRun ? "?dryRun=true" : "")", json: json).body
            } catch let error as CLIError where json != contents && error.description.contains("expected a string") {
                // YAML reads no, yes, on, off as booleans and 1.0 as a number.
                throw CLIError(
                    error.description + "\n(in YAML, quote a value such as no, yes, on, off or 1.0 to keep it a string: 'no')",
                    code: error.code
                )
            }
            if client.json { return printJSON(data) }
            Self.print(try APIClient.decoder.decode(ImportReport.self, from: data), quiet: client.quiet)
        }

        /// A line per event and workflow: created, updated or unchanged (or, in a dry run, what would be).
        static func print(_ report: ImportReport, quiet: Bool) {
            if quiet {
                for id in (report.created + report.updated + report.unchanged).compactMap(\.id) { Swift.print(id) }
                return
            }
            let verb = report.dryRun ? ["would create", "would update", "unchanged"] : ["created", "updated", "unchanged"]
            for entry in report.created { Swift.print("\(verb[0]) event \(entry.id.map { "\($0) " } ?? "")'\(entry.name)'") }
            for entry in report.updated { Swift.print("\(verb[1]) event \(entry.id.map(String.init) ?? "") '\(entry.name)'") }
            for entry in report.unchanged { Swift.print("\(verb[2]) event \(entry.id.map(String.init) ?? "") '\(entry.name)'") }
            if let workflows = report.workflows {
                for entry in workflows.created { Swift.print("\(verb[0]) workflow \(entry.id.map { "\($0) " } ?? "")'\(entry.name)'") }
                for entry in workflows.updated { Swift.print("\(verb[1]) workflow \(entry.id.map(String.init) ?? "") '\(entry.name)'") }
                for entry in workflows.unchanged { Swift.print("\(verb[2]) workflow \(entry.id.map(String.init) ?? "") '\(entry.name)'") }
            }
            if report.dryRun { printError("dry run: nothing was changed") }
        }
    }
}

/// YAML for people, JSON for the server: the CLI converts in both directions and the server
/// judges every field (a misspelled key in YAML is refused like one in JSON).
enum EventDocumentYAML {
    static func encode(_ document: EventDocument) throws -> String {
        let encoder = YAMLEncoder()
        encoder.options.allowUnicode = true
        encoder.options.width = -1
        // Scripts stay readable: multi-line strings as literal blocks.
        encoder.options.newLineScalarStyle = .literal
        return try encoder.encode(document)
    }

    /// The file's JSON: as it is when it is JSON, converted when it is YAML. `expecting` says what
    /// the file should hold, for the message when it holds nothing of the kind.
    static func json(from data: Data, file: String, expecting: String = "events: expected `events:` with a list, as `cronium event export` prints")
        throws -> Data
    {
        let text = String(decoding: data, as: UTF8.self)
        if let first = text.first(where: { !$0.isWhitespace }), first == "{" || first == "[" { return data }
        let value: Any?
        do {
            value = try Yams.load(yaml: text)
        } catch {
            throw ValidationError("\(file) is neither JSON nor YAML: \(error)")
        }
        let converted = value.map(jsonCompatible)
        guard let converted, converted is [String: Any] || converted is [Any], JSONSerialization.isValidJSONObject(converted) else {
            throw ValidationError("\(file) holds no \(expecting)")
        }
        return try JSONSerialization.data(withJSONObject: converted, options: [.withoutEscapingSlashes])
    }

    /// YAML's own values in JSON's terms: keys as strings, times as ISO-8601 strings, binary as base64.
    private static func jsonCompatible(_ value: Any) -> Any {
        switch value {
        case let map as [AnyHashable: Any]:
            Dictionary(map.map { ("\($0.key.base)", jsonCompatible($0.value)) }, uniquingKeysWith: { first, _ in first })
        case let list as [Any]: list.map(jsonCompatible)
        case let date as Date: date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
        case let data as Data: data.base64EncodedString()
        default: value
        }
    }
}

import ArgumentParser
import CroniumEngine
import Foundation

/// `cronium config show`: the settings `serve` would run with, and where each came from.
struct ConfigCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Show the server's effective settings.",
        subcommands: [Show.self]
    )

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "show",
            abstract: "Print the settings 'cronium serve' would run with here, and where each came from.",
            discussion: """
                Give it the same flags and environment as 'serve'. A flag wins over the environment \
                (CRONIUM_PORT), which wins over the configuration file (port: 5001), which wins over \
                the default. Secrets are masked.
                """
        )

        @Flag(help: "Print JSON.") var json = false
        @Argument(parsing: .captureForPassthrough, help: "serve's flags, as you would give them to 'cronium serve'.")
        var serveArguments: [String] = []

        func run() async throws {
            let environment = ProcessInfo.processInfo.environment
            // After serve's first flag every argument is passed through, `--json` too.
            let json = json || serveArguments.contains("--json")
            let settings = try ServeSettings.resolve(arguments: serveArguments.filter { $0 != "--json" }, environment: environment)
            do {
                _ = try Serve.parse(settings.arguments)
            } catch {
                throw CLIError(Serve.message(for: error), code: .usage)
            }
            // The file is said above the table.
            var rows = settings.settings.filter { $0.option.key != ServeOption.config.key }.map { setting in
                (key: setting.option.key, value: setting.values.joined(separator: ", "), source: setting.source.description)
            }
            let masterKey = environment[MasterKey.environmentVariable].map { _ in ("master-key", "********", MasterKey.environmentVariable) }
            rows.append(masterKey ?? ("master-key", "(master.key in the data directory)", "default"))
            if json {
                let objects = rows.map { ["key": $0.key, "value": $0.value, "source": $0.source] }
                let file: [String: Any] = settings.file.map { ["file": $0] } ?? [:]
                let data = try JSONSerialization.data(withJSONObject: file.merging(["settings": objects]) { $1 }, options: [.sortedKeys])
                return printJSON(data)
            }
            if let file = settings.file {
                print("Configuration file: \(file)")
            } else if let missing = settings.missingDefaultFile {
                print("Configuration file: none (\(missing) does not exist)")
            }
            printColumns([["SETTING", "VALUE", "FROM"]] + rows.map { [$0.key, $0.value.isEmpty ? "-" : $0.value, $0.source] })
        }
    }
}

import ArgumentParser
import CroniumCore
import CroniumEngine
import CroniumServer
import Foundation
import Logging
import NIOHTTP1

/// `cronium variable …`: your variables and secrets, as your runs read them.
struct VariableCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "variable",
        abstract: "List, read, set and delete your variables and secrets; import and export them.",
        subcommands: [List.self, Get.self, Set.self, Delete.self, Export.self, Import.self]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "Your variables (secrets' values are not shown).")
        @OptionGroup var client: ClientOptions

        func run() async throws {
            let data = try await client.client.send(.GET, "/api/v1/variables")
            if client.json { return printJSON(data) }
            let variables = try APIClient.decoder.decode([Variable].self, from: data)
            client.printTable(
                ["KEY", "VALUE", "DESCRIPTION"],
                variables.map { [$0.key, $0.secret ? "*** (secret)" : $0.value ?? "", $0.description ?? ""] }
            )
        }
    }

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "get", abstract: "Print a variable's value (a secret's only with --reveal).")
        @OptionGroup var client: ClientOptions
        @Argument(help: "The variable's key.") var key: String
        @Flag(help: "Print a secret's value.") var reveal = false

        func run() async throws {
            let data = try await client.client.send(.GET, "/api/v1/variables/\(key)\(reveal ? "?reveal=true" : "")")
            if client.json { return printJSON(data) }
            let variable = try APIClient.decoder.decode(Variable.self, from: data)
            guard let value = variable.value else {
                throw CLIError("\(key) is a secret: add --reveal to print its value", code: .refused)
            }
            print(value)
        }
    }

    struct Set: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set",
            abstract: "Create or change a variable.",
            discussion: "Give the value as an argument, or with --value-stdin (better for secrets: it stays out of your shell's history)."
        )
        @OptionGroup var client: ClientOptions
        @Argument(help: "The key: capital letters, digits and _ (like DB_PASSWORD).") var key: String
        @Argument(help: "The value.") var value: String?
        @Flag(help: "Read the value from standard input (one trailing line break is dropped).") var valueStdin = false
        @Flag(help: "Make it a secret: encrypted at rest, masked in logs, left out of lists.") var secret = false
        @Option(help: "What it is for.") var description: String?

        func validate() throws {
            if value != nil && valueStdin { throw ValidationError("give the value as an argument or with --value-stdin, not both") }
        }

        func run() async throws {
            var input = VariableInput(description: description)
            if secret { input.secret = true }
            if valueStdin {
                var text = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
                if text.hasSuffix("\n") { text.removeLast() }
                input.value = text
            } else {
                input.value = value
            }
            let data = try await client.client.send(.PUT, "/api/v1/variables/\(key)", body: input)
            if client.json { return printJSON(data) }
            let variable = try APIClient.decoder.decode(Variable.self, from: data)
            client.report("set \(variable.secret ? "secret" : "variable") \(variable.key)", id: variable.key)
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "delete", abstract: "Delete a variable.")
        @OptionGroup var client: ClientOptions
        @Argument(help: "The variable's key.") var key: String

        func run() async throws {
            _ = try await client.client.send(.DELETE, "/api/v1/variables/\(key)")
            client.report("deleted variable \(key)", id: key)
        }
    }

    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "export",
            abstract: "Print your variables as JSON or as a .env file (secrets only with --include-secrets)."
        )
        @OptionGroup var client: ClientOptions
        @Option(help: "json (the default) or env.") var format = "json"
        @Flag(help: "Include secrets, with their values.") var includeSecrets = false

        func validate() throws {
            if !["json", "env"].contains(format) { throw ValidationError("--format must be json or env") }
        }

        func run() async throws {
            let data = try await client.client.send(.GET, "/api/v1/variables/export?format=\(format)\(includeSecrets ? "&includeSecrets=true" : "")")
            if format == "json" { return printJSON(data) }
            FileHandle.standardOutput.write(data)
        }
    }

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "import",
            abstract: "Set variables from a JSON or .env file, all or nothing.",
            discussion: "A file whose name ends in .env (or --format env) is read as KEY=value lines; '# secret' above a line makes it a secret."
        )
        @OptionGroup var client: ClientOptions
        @Argument(help: "The file, or - for standard input.") var file: String
        @Option(help: "json or env (default: from the file's name).") var format: String?
        @Flag(help: "Make every imported variable a secret.") var secret = false
        @Flag(help: "Check only: say what would change.") var dryRun = false

        func run() async throws {
            let contents = try EventOptions.read(file, option: "import")
            let isEnv = (format ?? (file.hasSuffix(".env") || URL(fileURLWithPath: file).lastPathComponent == ".env" ? "env" : "json")) == "env"
            let query = [dryRun ? "dryRun=true" : nil, secret ? "secret=true" : nil].compactMap { $0 }.joined(separator: "&")
            let data = try await client.client.exchange(
                .POST,
                "/api/v1/variables/import\(query.isEmpty ? "" : "?" + query)",
                json: contents,
                contentType: isEnv ? "text/plain; charset=utf-8" : "application/json"
            ).body
            if client.json { return printJSON(data) }
            struct Report: Decodable {
                let created: [String]
                let updated: [String]
                let dryRun: Bool
            }
            let report = try APIClient.decoder.decode(Report.self, from: data)
            let verb = report.dryRun ? "would " : ""
            print("\(verb)create \(report.created.count), \(verb)update \(report.updated.count)\(report.dryRun ? " (dry run: nothing changed)" : "")")
            for key in report.created { print("  + \(key)") }
            for key in report.updated { print("  ~ \(key)") }
        }
    }
}

/// `cronium secrets …`: the master key that seals secrets.
struct SecretsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "secrets",
        abstract: "Manage the master key that encrypts secrets.",
        subcommands: [RotateKey.self]
    )

    struct RotateKey: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rotate-key",
            abstract: "Make a new master key and re-encrypt every secret with it (stop the server first).",
            discussion: """
                Works on the data directory itself, so the server must be stopped. With the key in \
                CRONIUM_MASTER_KEY, give the new one in CRONIUM_NEW_MASTER_KEY, and start the server \
                with it afterwards.
                """
        )
        @Option(name: .customLong("data-dir"), help: "The server's data directory.") var dataDirectory = "./.cronium"

        func run() async throws {
            var logger = Logger(label: "cronium")
            logger.logLevel = .warning
            do {
                let (count, keyId) = try await MasterKey.rotate(dataDirectory: dataDirectory, logger: logger)
                print("re-encrypted \(count) secret\(count == 1 ? "" : "s") with the new master key \(keyId)")
                if ProcessInfo.processInfo.environment[MasterKey.environmentVariable] != nil {
                    print("start the server with \(MasterKey.environmentVariable) set to the new key")
                }
            } catch let error as StartupError {
                throw CLIError(error.description, code: .refused)
            }
        }
    }
}

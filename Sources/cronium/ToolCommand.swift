import ArgumentParser
import CroniumCore
import Foundation
import NIOHTTP1

/// `cronium tool …`: where messages go (email, Slack, Discord, Teams, webhooks).
struct ToolCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tool",
        abstract: "Add, list, test and remove the tools messages are sent through.",
        subcommands: [Add.self, List.self, Show.self, Test.self, Preview.self, Update.self, Remove.self]
    )

    /// What `add` and `update` share. A webhook's URL and an SMTP password are credentials: give
    /// them in a file (or `-`, standard input) to keep them out of your shell's history.
    struct ToolOptions: ParsableArguments {
        @Option(help: "The URL to post to (Slack, Discord, Teams or your own webhook).") var webhookUrl: String?
        @Option(help: "Read the URL from this file ('-': standard input).") var webhookUrlFile: String?
        @Option(help: "WEBHOOK: the method, POST (default), PUT or PATCH.") var method: String?
        @Option(name: .customLong("header"), help: "WEBHOOK: a header 'Name: value' sent with each delivery (repeatable; replaces them).")
        var headers: [String] = []
        @Option(help: "WEBHOOK: sign deliveries with the secret in this file (X-Cronium-Signature).") var signingSecretFile: String?
        @Option(help: "EMAIL: the SMTP server's host name or address.") var smtpHost: String?
        @Option(help: "EMAIL: its port (default: 587 for starttls, 465 for tls, 25 for none).") var smtpPort: Int?
        @Option(help: "EMAIL: starttls (default), tls (from the first byte) or none.") var security: String?
        @Option(help: "EMAIL: the sender, 'name@example.com' or 'Name <name@example.com>'.") var from: String?
        @Option(help: "EMAIL: log in as this user ('' stops logging in).") var username: String?
        @Option(help: "EMAIL: the login's password, from this file ('-': standard input).") var passwordFile: String?
        @Option(help: "EMAIL: plain (default) or login.") var auth: String?
        @Option(help: "EMAIL: trust this CA certificate (PEM file) besides the system's ('' removes it).") var caFile: String?
        @Flag(inversion: .prefixedNo, help: "Let every user send through it (administrators only).") var shared: Bool?

        func validate() throws {
            if webhookUrl != nil && webhookUrlFile != nil { throw ValidationError("give --webhook-url or --webhook-url-file, not both") }
            if let security, SMTPSecurity(rawValue: security.uppercased()) == nil {
                throw ValidationError("--security must be starttls, tls or none")
            }
            if let auth, SMTPAuthentication(rawValue: auth.uppercased()) == nil { throw ValidationError("--auth must be plain or login") }
            for header in headers where !header.contains(":") { throw ValidationError("--header '\(header)' must be 'Name: value'") }
        }

        func input(name: String?, type: ToolType?) throws -> ToolInput {
            var input = ToolInput()
            input.name = name
            input.type = type
            input.url = try webhookUrl ?? webhookUrlFile.map { EventOptions.firstLine(try EventOptions.read($0, option: "--webhook-url-file")) }
            input.method = method
            if !headers.isEmpty {
                input.headers = Dictionary(
                    headers.map { header in
                        let parts = header.split(separator: ":", maxSplits: 1)
                        return (parts[0].trimmingCharacters(in: .whitespaces), parts.count > 1 ? parts[1].trimmingCharacters(in: .whitespaces) : "")
                    },
                    uniquingKeysWith: { _, last in last }
                )
            }
            input.signingSecret = try signingSecretFile.map { EventOptions.firstLine(try EventOptions.read($0, option: "--signing-secret-file")) }
            input.host = smtpHost
            input.port = smtpPort
            input.security = security.flatMap { SMTPSecurity(rawValue: $0.uppercased()) }
            input.from = from
            input.username = username
            input.password = try passwordFile.map { EventOptions.firstLine(try EventOptions.read($0, option: "--password-file")) }
            input.authentication = auth.flatMap { SMTPAuthentication(rawValue: $0.uppercased()) }
            input.trustedCertificate = try caFile.map {
                $0.isEmpty ? "" : String(decoding: try EventOptions.read($0, option: "--ca-file"), as: UTF8.self)
            }
            input.shared = shared
            return input
        }

    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "add", abstract: "Add a tool.")
        @OptionGroup var client: ClientOptions
        @Argument(help: "The tool's name (letters, digits, '.', '_', '-').") var name: String
        @Option(help: "email, slack, discord, teams or webhook.") var type: String
        @OptionGroup var tool: ToolOptions

        func validate() throws {
            guard ToolType(rawValue: type.uppercased()) != nil else {
                throw ValidationError("--type must be email, slack, discord, teams or webhook")
            }
        }

        func run() async throws {
            let data = try await client.client.send(
                .POST,
                "/api/v1/tools",
                body: try tool.input(name: name, type: ToolType(rawValue: type.uppercased()))
            )
            if client.json { return printJSON(data) }
            let added = try APIClient.decoder.decode(Tool.self, from: data)
            let destination = added.email.map { "through \($0.host):\($0.port)" } ?? "to \(added.urlHost ?? "?")"
            client.report(
                "added tool \(added.name) (\(added.type.rawValue) \(destination)); try it with `cronium tool test \(added.name)`",
                id: added.name
            )
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "Your tools and the shared ones.")
        @OptionGroup var client: ClientOptions

        func run() async throws {
            let data = try await client.client.send(.GET, "/api/v1/tools")
            if client.json { return printJSON(data) }
            let tools = try APIClient.decoder.decode([Tool].self, from: data)
            client.printTable(
                ["NAME", "TYPE", "TO", "SHARED"],
                tools.map { [$0.name, $0.type.rawValue, $0.urlHost ?? $0.email?.host ?? "-", $0.shared ? "yes" : "no"] }
            )
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "show", abstract: "One tool as JSON (never its credentials).")
        @OptionGroup var client: ClientOptions
        @Argument(help: "The tool's name.") var name: String

        func run() async throws { printJSON(try await client.client.send(.GET, "/api/v1/tools/\(name)")) }
    }

    struct Test: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "test",
            abstract: "Send a real test message and show what the far end answered; exits 1 if it was not delivered."
        )
        @OptionGroup var client: ClientOptions
        @Argument(help: "The tool's name.") var name: String
        @Option(help: "EMAIL: send the test to this address (repeatable; default: the tool's sender).") var to: [String] = []

        func run() async throws {
            let data = try await client.client.send(.POST, "/api/v1/tools/\(name)/test", body: ToolTestInput(to: to.isEmpty ? nil : to))
            if client.json { printJSON(data) }
            let result = try APIClient.decoder.decode(DeliveryResult.self, from: data)
            if !client.json {
                printColumns([
                    ["delivered", result.delivered ? "yes" : "no"], ["tries", String(result.attempts)],
                    ["answer", result.status.map { "\($0) \(result.response ?? "")" } ?? "none"],
                ])
            }
            if let error = result.error { throw CLIError(error) }
        }
    }

    struct Preview: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "preview",
            abstract: "Render a message's templates over a past run, as a message about it would read.",
            discussion:
                "Templates are Mustache: {{event.name}}, {{execution.status}}, {{execution.log}}, {{input.FIELD}}, {{variables.KEY}}… (docs/notifications.md)."
        )
        @OptionGroup var client: ClientOptions
        @Option(help: "The run to render over.") var execution: ExecutionID
        @Option(help: "The message's template.") var message: String
        @Option(help: "The subject's template.") var subject: String?
        @Flag(help: "Render for an HTML body (values escaped).") var html = false

        func run() async throws {
            struct Body: Encodable {
                let executionId: ExecutionID
                let subject: String?
                let message: String
                let html: Bool
            }
            struct Rendered: Decodable {
                let subject: String?
                let text: String
            }
            let data = try await client.client.send(
                .POST,
                "/api/v1/tools/preview",
                body: Body(executionId: execution, subject: subject, message: message, html: html)
            )
            if client.json { return printJSON(data) }
            let rendered = try APIClient.decoder.decode(Rendered.self, from: data)
            if let subject = rendered.subject { print("Subject: \(subject)") }
            print(rendered.text)
        }
    }

    struct Update: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "update", abstract: "Change a tool (yours only).")
        @OptionGroup var client: ClientOptions
        @Argument(help: "The tool's name.") var name: String
        @Option(help: "A new name.") var rename: String?
        @OptionGroup var tool: ToolOptions

        func run() async throws {
            let data = try await client.client.send(.PATCH, "/api/v1/tools/\(name)", body: try tool.input(name: rename, type: nil))
            if client.json { return printJSON(data) }
            let updated = try APIClient.decoder.decode(Tool.self, from: data)
            client.report("updated tool \(updated.name)", id: updated.name)
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "remove", abstract: "Remove a tool (yours only).")
        @OptionGroup var client: ClientOptions
        @Argument(help: "The tool's name.") var name: String

        func run() async throws {
            _ = try await client.client.send(.DELETE, "/api/v1/tools/\(name)")
            client.report("removed tool \(name)", id: name)
        }
    }
}

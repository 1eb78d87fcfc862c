import ArgumentParser
import CroniumCore
import Foundation
import NIOHTTP1

/// `cronium event hook …` and `cronium workflow hook …`: an incoming webhook's URL and signing
/// secret, shown or rotated.
struct HookCommand<Target: HookTarget>: AsyncParsableCommand {
    static var configuration: CommandConfiguration {
        CommandConfiguration(
            commandName: "hook",
            abstract: "Show or rotate the \(Target.noun)'s incoming webhook.",
            subcommands: [Show.self, Rotate.self, Delete.self]
        )
    }

    struct Show: AsyncParsableCommand {
        static var configuration: CommandConfiguration {
            CommandConfiguration(commandName: "show", abstract: "Print the webhook's URL, signing secret and whether it must be signed.")
        }
        @OptionGroup var client: ClientOptions
        @Argument(help: "The \(Target.noun)'s id.") var id: Int64

        func run() async throws {
            let data = try await client.client.send(.GET, "\(Target.path)/\(id)/hook")
            try HookCommand.print(data, client: client)
        }
    }

    struct Rotate: AsyncParsableCommand {
        static var configuration: CommandConfiguration {
            CommandConfiguration(
                commandName: "rotate",
                abstract: "Give the webhook a new URL and signing secret (made when there is none); the old ones stop working at once."
            )
        }
        @OptionGroup var client: ClientOptions
        @Argument(help: "The \(Target.noun)'s id.") var id: Int64
        @Flag(inversion: .prefixedNo, help: "Whether deliveries must be signed (default: as before; a new webhook takes unsigned ones).")
        var signed: Bool?

        struct Body: Encodable { let signed: Bool? }

        func run() async throws {
            let data = try await client.client.exchange(.POST, "\(Target.path)/\(id)/hook/rotate", body: Body(signed: signed)).body
            try HookCommand.print(data, client: client)
        }
    }

    struct Delete: AsyncParsableCommand {
        static var configuration: CommandConfiguration { CommandConfiguration(commandName: "delete", abstract: "Remove the webhook.") }
        @OptionGroup var client: ClientOptions
        @Argument(help: "The \(Target.noun)'s id.") var id: Int64

        func run() async throws {
            _ = try await client.client.send(.DELETE, "\(Target.path)/\(id)/hook")
            client.report("deleted the webhook of \(Target.noun) \(id)", id: id)
        }
    }

    static func print(_ data: Data, client: ClientOptions) throws {
        if client.json { return printJSON(data) }
        let hook = try APIClient.decoder.decode(Hook.self, from: data)
        let url = try client.client.baseURL + hook.path
        if client.quiet { return Swift.print(url) }
        Swift.print("url:            \(url)")
        Swift.print("signing secret: \(hook.signingSecret)")
        Swift.print("signed:         \(hook.signed ? "required" : "optional (a signed delivery is checked)")")
    }
}

/// What a hook belongs to, for ``HookCommand``.
protocol HookTarget: Sendable {
    static var noun: String { get }
    static var path: String { get }
}

enum EventHookTarget: HookTarget {
    static let noun = "event"
    static let path = "/api/v1/events"
}

enum WorkflowHookTarget: HookTarget {
    static let noun = "workflow"
    static let path = "/api/v1/workflows"
}

import ArgumentParser
import CroniumCore
import Foundation
import NIOHTTP1

struct UserCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "user", abstract: "Manage users (admin).", subcommands: [Create.self, List.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "create",
            abstract: "Create a user; without --password-stdin or --ask-password one is generated and printed once.",
            discussion: "The password is never an argument: arguments show in `ps` and in shell history."
        )
        @OptionGroup var client: ClientOptions
        @Argument(help: "Username.") var username: String
        @Option(help: "admin, user or viewer.") var role = "user"
        @Flag(help: "Read the password (at least 8 characters) from the first line of standard input.") var passwordStdin = false
        @Flag(help: "Ask for the password on the terminal, without echoing it.") var askPassword = false

        struct Body: Encodable {
            let username: String
            let role: String
            let password: String?
        }
        struct Created: Decodable {
            let user: User
            let password: String?
        }

        func validate() throws {
            guard Role.named(role) != nil else { throw ValidationError("--role must be admin, user or viewer") }
            if passwordStdin && askPassword { throw ValidationError("give --password-stdin or --ask-password, not both") }
        }

        func run() async throws {
            var password: String?
            if passwordStdin {
                guard let line = readLine(strippingNewline: true), !line.isEmpty else {
                    throw ValidationError("--password-stdin: standard input had no password")
                }
                password = line
            } else if askPassword {
                password = try askForPassword("Password for \(username): ")
            }
            let data = try await client.client.send(.POST, "/api/v1/users", body: Body(username: username, role: role, password: password))
            if client.json { return printJSON(data) }
            let created = try APIClient.decoder.decode(Created.self, from: data)
            print("created user \(created.user.username) (\(created.user.role.rawValue))")
            if let generated = created.password { print("password: \(generated)  (shown only now)") }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List users.")
        @OptionGroup var client: ClientOptions

        func run() async throws {
            let data = try await client.client.send(.GET, "/api/v1/users")
            if client.json { return printJSON(data) }
            let users = try APIClient.decoder.decode([User].self, from: data)
            client.printTable(["ID", "USERNAME", "ROLE"], users.map { [String($0.id), $0.username, $0.role.rawValue] })
        }
    }
}

struct TokenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token",
        abstract: "Manage your API tokens.",
        subcommands: [Create.self, List.self, Revoke.self]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "create", abstract: "Create a token; the secret is printed once.")
        @OptionGroup var client: ClientOptions
        @Argument(help: "A name to recognise it by.") var name: String

        struct Body: Encodable { let name: String }
        struct Created: Decodable {
            let token: APIToken
            let secret: String
        }

        func run() async throws {
            let data = try await client.client.send(.POST, "/api/v1/tokens", body: Body(name: name))
            if client.json { return printJSON(data) }
            let created = try APIClient.decoder.decode(Created.self, from: data)
            print(created.secret)
            printError("token \(created.token.id) '\(created.token.name)' created; the secret above is shown only now")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List tokens.")
        @OptionGroup var client: ClientOptions

        func run() async throws {
            let data = try await client.client.send(.GET, "/api/v1/tokens")
            if client.json { return printJSON(data) }
            let tokens = try APIClient.decoder.decode([APIToken].self, from: data)
            client.printTable(
                ["ID", "NAME", "PREFIX", "REVOKED"],
                tokens.map { [String($0.id), $0.name, $0.prefix, $0.revokedAt.map { formatISO8601($0, timeZone: .gmt) } ?? "-"] }
            )
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "revoke", abstract: "Revoke a token.")
        @OptionGroup var client: ClientOptions
        @Argument(help: "Token id.") var id: TokenID

        func run() async throws {
            _ = try await client.client.send(.DELETE, "/api/v1/tokens/\(id)")
            if !client.json && !client.quiet { print("revoked token \(id)") }
        }
    }
}

/// Reads a line from the terminal with echo off, so the password is not shown as it is typed.
func askForPassword(_ prompt: String) throws -> String {
    guard isatty(STDIN_FILENO) == 1 else { throw ValidationError("no terminal to ask for the password on; pipe it into --password-stdin instead") }
    FileHandle.standardError.write(Data(prompt.utf8))
    var saved = termios()
    tcgetattr(STDIN_FILENO, &saved)
    var silent = saved
    silent.c_lflag &= ~tcflag_t(ECHO)
    tcsetattr(STDIN_FILENO, TCSANOW, &silent)
    defer {
        tcsetattr(STDIN_FILENO, TCSANOW, &saved)
        FileHandle.standardError.write(Data("\n".utf8))
    }
    guard let line = readLine(strippingNewline: true), !line.isEmpty else { throw ValidationError("--ask-password: no password given") }
    return line
}

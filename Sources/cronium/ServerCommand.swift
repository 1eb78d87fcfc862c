import ArgumentParser
import CroniumCore
import Foundation
import NIOHTTP1

#if canImport(Glibc)
    import Glibc
#endif

/// `cronium server …`: the hosts your events run on over SSH.
struct ServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "server",
        abstract: "Add, list, check and remove the servers your events run on over SSH.",
        subcommands: [Add.self, List.self, Show.self, Check.self, Update.self, Remove.self, Scan.self]
    )

    /// What `add` and `update` share: where, as whom, with what, and the host key to pin.
    struct ServerOptions: ParsableArguments {
        @Option(help: "Host name or address.") var host: String?
        @Option(help: "SSH port (default 22).") var port: Int?
        @Option(help: "The user to log in as.") var user: String?
        @Option(help: "A private key file (Ed25519 or ECDSA, as ssh-keygen writes them).") var keyFile: String?
        @Option(help: "A file holding the private key's passphrase.") var passphraseFile: String?
        @Flag(help: "Log in with a password, read from standard input.") var passwordStdin = false
        @Option(name: .customLong("tag"), help: "A tag (repeat for more); replaces the server's tags.") var tags: [String] = []
        @Option(help: "Pin the host key with this fingerprint (SHA256:…), after comparing it with the host's.") var acceptHostKey: String?
        @Option(help: "Pin the host's keys listed in this known_hosts file (such as ~/.ssh/known_hosts).") var knownHosts: String?

        func validate() throws {
            if keyFile != nil && passwordStdin { throw ValidationError("give --key-file or --password-stdin, not both") }
            if passphraseFile != nil && keyFile == nil { throw ValidationError("--passphrase-file goes with --key-file") }
        }

        func input(name: String?) throws -> RemoteServerInput {
            var input = RemoteServerInput(
                name: name,
                host: host,
                port: port,
                username: user,
                tags: tags.isEmpty ? nil : tags,
                acceptHostKey: acceptHostKey
            )
            if let keyFile { input.privateKey = String(decoding: try EventOptions.read(keyFile, option: "--key-file"), as: UTF8.self) }
            if let passphraseFile { input.passphrase = EventOptions.firstLine(try EventOptions.read(passphraseFile, option: "--passphrase-file")) }
            if passwordStdin { input.password = EventOptions.firstLine(FileHandle.standardInput.readDataToEndOfFile()) }
            if let knownHosts {
                let path = knownHosts.hasPrefix("~/") ? NSHomeDirectory() + knownHosts.dropFirst(1) : knownHosts
                input.knownHosts = String(decoding: try EventOptions.read(path, option: "--known-hosts"), as: UTF8.self)
            }
            return input
        }

    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "add",
            abstract: "Add a server; its host key is pinned only once you have compared it.",
            discussion: """
                Without --accept-host-key or --known-hosts, Cronium asks the host for its key and shows its fingerprint: \
                compare it with `ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub` run on the host, then confirm \
                (or run again with --accept-host-key).
                """
        )
        @OptionGroup var client: ClientOptions
        @Argument(help: "The server's name (letters, digits, '.', '_', '-').") var name: String
        @OptionGroup var server: ServerOptions

        func validate() throws {
            if server.host == nil { throw ValidationError("--host is required") }
            if server.user == nil { throw ValidationError("--user is required") }
            if server.keyFile == nil && !server.passwordStdin { throw ValidationError("give --key-file (a private key) or --password-stdin") }
        }

        func run() async throws {
            var input = try server.input(name: name)
            if input.acceptHostKey == nil && input.knownHosts == nil {
                input.acceptHostKey = try await confirmHostKey(host: server.host ?? "", port: server.port ?? 22, client: client)
            }
            let data = try await client.client.send(.POST, "/api/v1/servers", body: input)
            if client.json { return printJSON(data) }
            let added = try APIClient.decoder.decode(RemoteServer.self, from: data)
            client.report(
                "added server \(added.name) (\(added.username)@\(added.host):\(added.port)), host key \(added.hostKeys.map(\.fingerprint).joined(separator: ", ")) pinned",
                id: added.name
            )
            if let publicKey = added.publicKey, !client.quiet {
                print("its key, for ~\(added.username)/.ssh/authorized_keys on the host if it is not there yet:\n  \(publicKey)")
            }
        }
    }

    /// Shows the key the host offers and asks whether to pin it: on a terminal only; elsewhere
    /// the answer must come as --accept-host-key.
    static func confirmHostKey(host: String, port: Int, client: ClientOptions) async throws -> String {
        struct Scan: Encodable {
            let host: String
            let port: Int
        }
        let scan = try await client.client.call(.POST, "/api/v1/servers/scan", body: Scan(host: host, port: port), as: HostKeyScan.self)
        let key = scan.hostKey
        let compare = "ssh-keygen -lf /etc/ssh/ssh_host_\(key.type.hasPrefix("ecdsa") ? "ecdsa" : "ed25519")_key.pub"
        guard isatty(0) == 1 else {
            throw CLIError(
                "not added: \(host):\(port) offers the \(key.type) key \(key.fingerprint). Compare it with `\(compare)` on the host; if they match, run again with --accept-host-key \(key.fingerprint) (or --known-hosts FILE)"
            )
        }
        printError("\(host):\(port) offers the \(key.type) key\n  \(key.fingerprint)\nCompare it with `\(compare)` run on the host.")
        FileHandle.standardError.write(Data("Pin this key? [y/N] ".utf8))
        guard let answer = readLine(), ["y", "yes"].contains(answer.lowercased()) else { throw CLIError("not added: the host key was not confirmed") }
        return key.fingerprint
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "Your servers, with their host keys and connection state.")
        @OptionGroup var client: ClientOptions
        @Option(help: "Only servers with this tag.") var tag: String?

        func run() async throws {
            let data = try await client.client.send(.GET, "/api/v1/servers\(tag.map { "?tag=\($0)" } ?? "")")
            if client.json { return printJSON(data) }
            let servers = try APIClient.decoder.decode([RemoteServer].self, from: data)
            client.printTable(
                ["NAME", "ADDRESS", "AUTH", "TAGS", "HOST KEY", "CONNECTION"],
                servers.map {
                    [
                        $0.name, "\($0.username)@\($0.host):\($0.port)", $0.auth == .password ? "password" : "key", $0.tags.joined(separator: ","),
                        ServerCommand.hostKeyState($0), ServerCommand.connectionState($0),
                    ]
                }
            )
        }
    }

    static func hostKeyState(_ server: RemoteServer) -> String {
        if let mismatch = server.hostKeyMismatch { return "CHANGED (offers \(mismatch.offered.fingerprint))" }
        return server.hostKeys.first.map { "\($0.type) \($0.fingerprint)" } ?? "none"
    }

    static func connectionState(_ server: RemoteServer) -> String {
        guard let connection = server.connection else { return "" }
        switch connection.breaker {
        case .closed:
            return connection.connected ? "connected" : connection.consecutiveFailures > 0 ? "failing (\(connection.consecutiveFailures))" : "idle"
        case .open: return "circuit open until \(connection.retryAt.map { formatISO8601($0, timeZone: .gmt) } ?? "?")"
        case .halfOpen: return "circuit half-open"
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "show", abstract: "One server in full (never its credentials).")
        @OptionGroup var client: ClientOptions
        @Argument(help: "The server's name.") var name: String

        func run() async throws {
            let data = try await client.client.send(.GET, "/api/v1/servers/\(name)")
            if client.json { return printJSON(data) }
            let server = try APIClient.decoder.decode(RemoteServer.self, from: data)
            var rows: [[String]] = [
                ["name", server.name], ["address", "\(server.username)@\(server.host):\(server.port)"],
                ["auth", server.auth == .password ? "password" : "private key"], ["tags", server.tags.joined(separator: ", ")],
            ]
            for key in server.hostKeys { rows.append(["host key", "\(key.type) \(key.fingerprint) (pinned)"]) }
            if let mismatch = server.hostKeyMismatch {
                rows.append([
                    "host key",
                    "CHANGED: offered \(mismatch.offered.fingerprint) at \(formatISO8601(mismatch.seenAt, timeZone: .gmt)); every connection is refused",
                ])
                rows.append([
                    "",
                    "if the host's key was changed on purpose: cronium server update \(server.name) --accept-host-key \(mismatch.offered.fingerprint)",
                ])
            }
            if let connection = server.connection {
                rows.append(["connection", ServerCommand.connectionState(server)])
                if let error = connection.lastError { rows.append(["last error", error]) }
            }
            if let publicKey = server.publicKey { rows.append(["public key", publicKey]) }
            printColumns(rows)
        }
    }

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "check",
            abstract: "Connect and log in as a run would: reachability, login, the runner there, round-trip time."
        )
        @OptionGroup var client: ClientOptions
        @Argument(help: "The server's name.") var name: String

        func run() async throws {
            let data = try await client.client.send(.POST, "/api/v1/servers/\(name)/check")
            if client.json { printJSON(data) }
            let check = try APIClient.decoder.decode(RemoteServerCheck.self, from: data)
            if !client.json {
                printColumns([
                    ["reachable", check.reachable ? "yes" : "no"], ["logged in", check.authenticated ? "yes" : "no"],
                    ["runner", check.runnerVersion ?? (check.authenticated ? "not deployed yet (deployed at the first run)" : "-")],
                    ["round trip", check.roundTripMilliseconds.map { "\($0) ms" } ?? "-"],
                ])
            }
            if let error = check.error { throw CLIError(error) }
        }
    }

    struct Update: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "update",
            abstract: "Change a server; --accept-host-key or --known-hosts pins its host key anew."
        )
        @OptionGroup var client: ClientOptions
        @Argument(help: "The server's name.") var name: String
        @Option(help: "A new name.") var rename: String?
        @OptionGroup var server: ServerOptions

        func run() async throws {
            let data = try await client.client.send(.PATCH, "/api/v1/servers/\(name)", body: try server.input(name: rename))
            if client.json { return printJSON(data) }
            let updated = try APIClient.decoder.decode(RemoteServer.self, from: data)
            client.report("updated server \(updated.name)", id: updated.name)
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "remove", abstract: "Remove a server and its credentials.")
        @OptionGroup var client: ClientOptions
        @Argument(help: "The server's name.") var name: String

        func run() async throws {
            _ = try await client.client.send(.DELETE, "/api/v1/servers/\(name)")
            client.report("removed server \(name)", id: name)
        }
    }

    struct Scan: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "scan", abstract: "Show the key a host offers, without logging in.")
        @OptionGroup var client: ClientOptions
        @Argument(help: "HOST or HOST:PORT.") var address: String

        func run() async throws {
            struct Body: Encodable {
                let host: String
                let port: Int
            }
            let parts = address.split(separator: ":")
            guard (1...2).contains(parts.count), let port = parts.count == 2 ? Int(parts[1]) : 22 else {
                throw ValidationError("give HOST or HOST:PORT")
            }
            let data = try await client.client.send(.POST, "/api/v1/servers/scan", body: Body(host: String(parts[0]), port: port))
            if client.json { return printJSON(data) }
            let scan = try APIClient.decoder.decode(HostKeyScan.self, from: data)
            print("\(scan.hostKey.type) \(scan.hostKey.fingerprint)")
        }
    }
}

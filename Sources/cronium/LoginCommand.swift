import ArgumentParser
import CroniumCore
import Foundation
import NIOHTTP1

/// `cronium login`: checks credentials against the server and saves them for later commands, so
/// nobody needs curl to get a token or `--url`/`--token` on every command.
struct LoginCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "login",
        abstract: "Sign in to a server and save its URL and a token for later commands.",
        discussion: """
            With a username, the password is asked for on the terminal (or read from stdin with \
            --password-stdin) and exchanged for a new API token named after this machine; the password \
            is never saved. With --with-token, a token is read from stdin instead. The token is saved in \
            $XDG_CONFIG_HOME/cronium/config.json (~/.config/cronium/config.json), readable by you only, \
            and sent only to the server it was saved for.
            """
    )
    @OptionGroup var client: ClientOptions
    @Option(name: [.short, .long], help: "Sign in with this username (asks for the password).") var user: String?
    @Flag(help: "Read the password from the first line of standard input.") var passwordStdin = false
    @Flag(help: "Read an API token from the first line of standard input instead of signing in.") var withToken = false

    func validate() throws {
        if withToken && (user != nil || passwordStdin) { throw ValidationError("give --with-token or --user, not both") }
        if passwordStdin && user == nil { throw ValidationError("--password-stdin needs --user") }
    }

    func run() async throws {
        var saved = try CLIConfiguration.load()
        let url = client.baseURL(saved)
        let login: CLIConfiguration.Login
        if let user {
            login = try await signIn(url: url, username: user)
        } else {
            let token = try withToken ? Self.firstLine(of: "--with-token", what: "token") : try tokenFromOptionsOrPrompt()
            let me: User = try await APIClient(baseURL: url, token: token).get("/api/v1/me")
            login = .init(token: token, username: me.username)
        }
        // A token this login replaces and had created itself is revoked, so logins leave none behind.
        if let previous = saved.logins[url], let id = previous.createdTokenId, previous.token != login.token {
            _ = try? await APIClient(baseURL: url, token: login.token).send(.DELETE, "/api/v1/tokens/\(id)")
        }
        saved.logins[url] = login
        saved.url = url
        try saved.save()
        if client.quiet { return }
        print("logged in to \(url) as \(login.username); saved to \(CLIConfiguration.path)")
    }

    /// Password → session → a new token, then the session is closed again.
    private func signIn(url: String, username: String) async throws -> CLIConfiguration.Login {
        let password =
            passwordStdin ? try Self.firstLine(of: "--password-stdin", what: "password") : try askForPassword("Password for \(username) at \(url): ")
        struct Credentials: Encodable {
            let username: String
            let password: String
        }
        let anonymous = APIClient(baseURL: url, token: nil)
        let signedIn = try await anonymous.exchange(.POST, "/api/v1/auth/login", body: Credentials(username: username, password: password))
        guard let cookie = signedIn.headers["Set-Cookie"].first?.split(separator: ";").first.map(String.init) else {
            throw CLIError("the server at \(url) signed you in but set no session; is it a Cronium server?")
        }
        struct SignedIn: Decodable { let csrfToken: String? }
        let csrfToken = try? JSONDecoder().decode(SignedIn.self, from: signedIn.body).csrfToken
        let session = APIClient(baseURL: url, token: nil, sessionCookie: cookie, csrfToken: csrfToken)
        let name = TokenCommand.Create.Body(name: "cronium login on \(ProcessInfo.processInfo.hostName)")
        let created: Result<TokenCommand.Create.Created, any Error>
        do { created = .success(try await session.call(.POST, "/api/v1/tokens", body: name)) } catch { created = .failure(error) }
        // The session was only the way to the token: it ends either way.
        _ = try? await session.send(.POST, "/api/v1/auth/logout")
        let token = try created.get()
        return .init(token: token.secret, username: username, createdTokenId: token.token.id)
    }

    /// `--token` or `CRONIUM_TOKEN` when given; otherwise the terminal asks for one.
    private func tokenFromOptionsOrPrompt() throws -> String {
        if let token = client.token ?? ProcessInfo.processInfo.environment["CRONIUM_TOKEN"], !token.isEmpty { return token }
        guard isatty(STDIN_FILENO) == 1 else {
            throw ValidationError("give --user NAME (with --password-stdin when there is no terminal), or pipe a token into --with-token")
        }
        return try askForPassword("API token: ")
    }

    static func firstLine(of option: String, what: String) throws -> String {
        guard let line = readLine(strippingNewline: true)?.trimmingCharacters(in: .whitespaces), !line.isEmpty else {
            throw ValidationError("\(option): standard input had no \(what)")
        }
        return line
    }
}

/// `cronium logout`: forgets the saved token of a server, and revokes it when `login` created it.
struct LogoutCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "logout",
        abstract: "Forget the token saved for a server (revoking it when login created it)."
    )
    @OptionGroup var client: ClientOptions

    func run() async throws {
        var saved = try CLIConfiguration.load()
        let url = client.baseURL(saved)
        guard let login = saved.logins[url] else { throw CLIError("not logged in to \(url)", code: .notFound) }
        var note = ""
        if let id = login.createdTokenId {
            do {
                _ = try await APIClient(baseURL: url, token: login.token).send(.DELETE, "/api/v1/tokens/\(id)")
                note = "; its token \(id) is revoked"
            } catch let error as CLIError where error.code == .notAllowed {
                note = "; its token was already revoked"
            } catch {
                note = "; its token \(id) could not be revoked (\(error)): revoke it with `cronium token revoke \(id)` once the server answers"
            }
        }
        saved.logins[url] = nil
        if saved.url == url { saved.url = nil }
        try saved.save()
        if !client.quiet { print("logged out of \(url)\(note)") }
    }
}

import CroniumCore
import CroniumEngine
import Foundation
import HTTPTypes
import Hummingbird

/// Sign-in, users and API tokens: HTTP around ``Accounts``.
struct AccountController {
    let accounts: Accounts
    /// The server answers HTTPS itself (`--tls-cert`): every session cookie is `Secure`.
    var servesHTTPS = false

    /// Signing in is the one route of `api` open to anyone; the rest are the caller's.
    func addRoutes(to api: RouterGroup<AppRequestContext>) {
        api.post("auth/login", use: login)
        api.get("auth/session", use: session)
        let signedIn = api.group(context: UserRequestContext.self)
        signedIn.post("auth/logout", use: logout)
        signedIn.get("me", use: me)
        signedIn.post("me/password", use: changePassword)
        signedIn.get("users", use: listUsers)
        signedIn.post("users", use: createUser)
        signedIn.get("tokens", use: listTokens)
        signedIn.post("tokens", use: createToken)
        signedIn.delete("tokens/:id", use: revokeToken)
    }

    struct Login: Codable {
        let username: String
        let password: String
    }

    /// Who is signed in, and the token their browser sends with each write (`X-CSRF-Token`);
    /// `csrfToken` is nil for a caller with an API token, who needs none. `user` is nil when
    /// nobody is: the web UI asks at every load, and a 401 would be an error in the browser's
    /// console for every visitor who has not signed in yet.
    struct SignedIn: ResponseEncodable {
        let user: User?
        let csrfToken: String?
    }

    struct PasswordChange: Codable {
        let currentPassword: String
        let newPassword: String
    }

    struct CreatedUser: ResponseEncodable {
        let user: User
        /// Present only when the server generated the password; shown this once.
        let password: String?
    }

    struct NewToken: Codable {
        let name: String
    }

    struct CreatedToken: ResponseEncodable {
        let token: APIToken
        /// The secret itself, shown only in this response.
        let secret: String
    }

    @Sendable func login(_ request: Request, context: AppRequestContext) async throws -> Response {
        let input = try await request.decodeJSON(as: Login.self)
        let session = try await accounts.signIn(username: input.username, password: input.password)
        var response = try SignedIn(user: session.user, csrfToken: Accounts.csrfToken(session: session.secret)).response(
            from: request,
            context: context
        )
        response.setCookie(
            Cookie(
                name: AuthMiddleware.sessionCookie,
                value: session.secret,
                maxAge: Int(Accounts.sessionLifetime),
                path: "/",
                secure: servesHTTPS || Self.isHTTPS(request),
                httpOnly: true,
                sameSite: .strict
            )
        )
        return response
    }

    /// Whether the browser reached the server over HTTPS: through a reverse proxy that terminates
    /// TLS and says so. Trusting the header cannot weaken anything: it only keeps the cookie off
    /// plain HTTP.
    static func isHTTPS(_ request: Request) -> Bool {
        request.head.scheme == "https" || request.headers[HTTPField.Name("X-Forwarded-Proto")!]?.lowercased() == "https"
    }

    @Sendable func session(_ request: Request, context: AppRequestContext) -> SignedIn {
        guard let user = context.user else { return SignedIn(user: nil, csrfToken: nil) }
        return SignedIn(user: user, csrfToken: Self.signedInSession(request).map(Accounts.csrfToken(session:)))
    }

    /// The session the caller signed in with, when that is how they did (not with an API token).
    static func signedInSession(_ request: Request) -> String? {
        AuthMiddleware.credential(in: request).flatMap { $0.isSession ? $0.value : nil }
    }

    @Sendable func changePassword(_ request: Request, context: UserRequestContext) async throws -> HTTPResponse.Status {
        let input = try await request.decodeJSON(as: PasswordChange.self)
        try await accounts.changePassword(
            of: context.user,
            current: input.currentPassword,
            new: input.newPassword,
            session: Self.signedInSession(request)
        )
        return .noContent
    }

    @Sendable func logout(_ request: Request, context: UserRequestContext) async throws -> Response {
        if let cookie = request.cookies[AuthMiddleware.sessionCookie]?.value { try await accounts.signOut(session: cookie) }
        var response = Response(status: .noContent)
        response.setCookie(Cookie(name: AuthMiddleware.sessionCookie, value: "", maxAge: 0, path: "/", httpOnly: true, sameSite: .strict))
        return response
    }

    @Sendable func me(_ request: Request, context: UserRequestContext) -> User { context.user }

    @Sendable func listUsers(_ request: Request, context: UserRequestContext) async throws -> [User] {
        try await accounts.users(by: context.user)
    }

    @Sendable func createUser(_ request: Request, context: UserRequestContext) async throws -> EditedResponse<CreatedUser> {
        let caller = context.user
        // Checked again by Accounts; here first, so that a user who may not is told so before the body is read.
        guard caller.role == .admin else { throw CroniumError.forbidden }
        let input = try await request.decodeJSON(as: Accounts.NewUser.self)
        let (user, password) = try await accounts.createUser(input, by: caller)
        return EditedResponse(status: .created, response: CreatedUser(user: user, password: password))
    }

    @Sendable func listTokens(_ request: Request, context: UserRequestContext) async throws -> [APIToken] {
        try await accounts.tokens(of: context.user, all: try QueryParameters(request).flag("all") ?? false)
    }

    @Sendable func createToken(_ request: Request, context: UserRequestContext) async throws -> EditedResponse<CreatedToken> {
        let user = context.user
        let input = try await request.decodeJSON(as: NewToken.self)
        let (token, secret) = try await accounts.createToken(named: input.name, for: user)
        return EditedResponse(status: .created, response: CreatedToken(token: token, secret: secret))
    }

    @Sendable func revokeToken(_ request: Request, context: UserRequestContext) async throws -> HTTPResponse.Status {
        let user = context.user
        try await accounts.revokeToken(try context.parameters.require("id", as: TokenID.self), by: user)
        return .noContent
    }
}

extension User: ResponseEncodable {}
extension APIToken: ResponseEncodable {}

import CroniumCore
import CroniumEngine
import Foundation
import HTTPTypes
import Hummingbird

/// Sign-in, users and API tokens: HTTP around ``Accounts``.
struct AccountController {
    let accounts: Accounts

    func addRoutes(to api: RouterGroup<AppRequestContext>) {
        api.post("auth/login", use: login)
        api.post("auth/logout", use: logout)
        api.get("me", use: me)
        api.get("users", use: listUsers)
        api.post("users", use: createUser)
        api.get("tokens", use: listTokens)
        api.post("tokens", use: createToken)
        api.delete("tokens/:id", use: revokeToken)
    }

    struct Login: Codable {
        let username: String
        let password: String
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
        let input = try await request.decodeJSON(as: Login.self, context: context)
        let session = try await accounts.signIn(username: input.username, password: input.password)
        var response = try session.user.response(from: request, context: context)
        response.setCookie(
            Cookie(
                name: AuthMiddleware.sessionCookie,
                value: session.secret,
                maxAge: Int(Accounts.sessionLifetime),
                path: "/",
                secure: false,
                httpOnly: true,
                sameSite: .strict
            )
        )
        return response
    }

    @Sendable func logout(_ request: Request, context: AppRequestContext) async throws -> Response {
        _ = try context.requireUser()
        if let cookie = request.cookies[AuthMiddleware.sessionCookie]?.value { try await accounts.signOut(session: cookie) }
        var response = Response(status: .noContent)
        response.setCookie(Cookie(name: AuthMiddleware.sessionCookie, value: "", maxAge: 0, path: "/", httpOnly: true, sameSite: .strict))
        return response
    }

    @Sendable func me(_ request: Request, context: AppRequestContext) async throws -> User { try context.requireUser() }

    @Sendable func listUsers(_ request: Request, context: AppRequestContext) async throws -> [User] {
        try await accounts.users(by: try context.requireUser())
    }

    @Sendable func createUser(_ request: Request, context: AppRequestContext) async throws -> EditedResponse<CreatedUser> {
        let caller = try context.requireUser()
        // Checked again by Accounts; here first, so that a user who may not is told so before the body is read.
        guard caller.role == .admin else { throw CroniumError.forbidden }
        let input = try await request.decodeJSON(as: Accounts.NewUser.self, context: context)
        let (user, password) = try await accounts.createUser(input, by: caller)
        return EditedResponse(status: .created, response: CreatedUser(user: user, password: password))
    }

    @Sendable func listTokens(_ request: Request, context: AppRequestContext) async throws -> [APIToken] {
        try await accounts.tokens(of: try context.requireUser(), all: try QueryParameters(request).flag("all") ?? false)
    }

    @Sendable func createToken(_ request: Request, context: AppRequestContext) async throws -> EditedResponse<CreatedToken> {
        let user = try context.requireUser()
        let input = try await request.decodeJSON(as: NewToken.self, context: context)
        let (token, secret) = try await accounts.createToken(named: input.name, for: user)
        return EditedResponse(status: .created, response: CreatedToken(token: token, secret: secret))
    }

    @Sendable func revokeToken(_ request: Request, context: AppRequestContext) async throws -> HTTPResponse.Status {
        let user = try context.requireUser()
        try await accounts.revokeToken(try context.parameters.require("id", as: TokenID.self), by: user)
        return .noContent
    }
}

extension User: ResponseEncodable {}
extension APIToken: ResponseEncodable {}

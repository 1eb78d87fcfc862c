import CroniumCore
import CroniumStore
import Foundation
import HTTPTypes
import Hummingbird

/// Sign-in, users and API tokens.
struct AccountController {
    let store: Database
    let bcryptCost: UInt8
    /// Browser sessions last this long.
    static let sessionLifetime: TimeInterval = 7 * 86400

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

    struct NewUser: Codable {
        let username: String
        var password: String?
        var role: Role?
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
        guard let stored = try await store.user(username: input.username), Secrets.verifyPassword(input.password, hash: stored.passwordHash) else {
            throw Problem(.unauthorized, "wrong username or password")
        }
        let session = Secrets.newToken()
        let now = Date()
        try await store.insertSession(tokenHash: Secrets.hashToken(session), userId: stored.user.id, now: now, expiresAt: now + Self.sessionLifetime)
        var response = try stored.user.response(from: request, context: context)
        response.setCookie(
            Cookie(
                name: AuthMiddleware.sessionCookie,
                value: session,
                maxAge: Int(Self.sessionLifetime),
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
        if let cookie = request.cookies[AuthMiddleware.sessionCookie]?.value { try await store.deleteSession(tokenHash: Secrets.hashToken(cookie)) }
        var response = Response(status: .noContent)
        response.setCookie(Cookie(name: AuthMiddleware.sessionCookie, value: "", maxAge: 0, path: "/", httpOnly: true, sameSite: .strict))
        return response
    }

    @Sendable func me(_ request: Request, context: AppRequestContext) async throws -> User { try context.requireUser() }

    @Sendable func listUsers(_ request: Request, context: AppRequestContext) async throws -> [User] {
        guard try context.requireUser().role == .admin else { throw CroniumError.forbidden }
        return try await store.users()
    }

    @Sendable func createUser(_ request: Request, context: AppRequestContext) async throws -> EditedResponse<CreatedUser> {
        guard try context.requireUser().role == .admin else { throw CroniumError.forbidden }
        let input = try await request.decodeJSON(as: NewUser.self, context: context)
        var problems: [FieldProblem] = []
        let validName =
            !input.username.isEmpty && input.username.count <= 64
            && input.username.allSatisfy { $0.isLetter || $0.isNumber || "._-".contains($0) }
        if !validName { problems.append(.init(field: "username", message: "must be 1 to 64 letters, digits, '.', '_' or '-'")) }
        if let password = input.password, password.count < 8 { problems.append(.init(field: "password", message: "must be at least 8 characters")) }
        try ValidationError.check(problems)
        let password = input.password ?? Secrets.newPassword()
        let user = try await store.insertUser(
            username: input.username,
            passwordHash: Secrets.hashPassword(password, cost: bcryptCost),
            role: input.role ?? .user,
            now: Date()
        )
        return EditedResponse(status: .created, response: CreatedUser(user: user, password: input.password == nil ? password : nil))
    }

    @Sendable func listTokens(_ request: Request, context: AppRequestContext) async throws -> [APIToken] {
        let user = try context.requireUser()
        let askedForAll = try QueryParameters(request).flag("all") ?? false
        let all = user.role == .admin && askedForAll
        return try await store.tokens(userId: all ? nil : user.id)
    }

    @Sendable func createToken(_ request: Request, context: AppRequestContext) async throws -> EditedResponse<CreatedToken> {
        let user = try context.requireUser()
        let input = try await request.decodeJSON(as: NewToken.self, context: context)
        guard !input.name.isEmpty, input.name.count <= 100 else { throw ValidationError(field: "name", message: "must be 1 to 100 characters") }
        let secret = Secrets.newToken()
        let token = try await store.insertToken(
            userId: user.id,
            name: input.name,
            prefix: String(secret.prefix(12)),
            tokenHash: Secrets.hashToken(secret),
            now: Date()
        )
        return EditedResponse(status: .created, response: CreatedToken(token: token, secret: secret))
    }

    @Sendable func revokeToken(_ request: Request, context: AppRequestContext) async throws -> HTTPResponse.Status {
        let user = try context.requireUser()
        let id = try context.parameters.require("id", as: TokenID.self)
        guard try await store.revokeToken(id: id, userId: user.role == .admin ? nil : user.id, now: Date()) else {
            throw CroniumError.notFound("token \(id)")
        }
        return .noContent
    }
}

extension User: ResponseEncodable {}
extension APIToken: ResponseEncodable {}

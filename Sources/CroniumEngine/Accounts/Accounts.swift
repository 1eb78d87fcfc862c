import CroniumCore
import CroniumStore
import Foundation

/// Users, browser sessions and API tokens, and their rules: who may list and create users, what
/// a user name and a password must be, how long a session lasts. The API's controllers and its
/// authentication call only this; the store only keeps what it decides.
public struct Accounts: Sendable {
    let store: any AccountStore
    /// bcrypt's work factor for new passwords.
    let bcryptCost: UInt8
    /// A browser session ends this long after sign-in, however much it is used.
    public static let sessionLifetime: TimeInterval = 7 * 86400
    /// A browser session also ends after this long without a request (a browser left open on a
    /// shared machine overnight).
    public static let sessionIdleLimit: TimeInterval = 12 * 3600

    public init(store: any AccountStore, bcryptCost: UInt8) {
        self.store = store
        self.bcryptCost = bcryptCost
    }

    /// A new user, as an administrator asks for one.
    public struct NewUser: Codable, Sendable {
        public var username: String
        /// Generated (and returned once) when nil.
        public var password: String?
        public var role: Role?
    }

    /// A browser session: its secret goes into the cookie and nowhere else.
    public struct Session: Sendable {
        public let user: User
        public let secret: String
        public let expiresAt: Date
    }

    /// The user an API token belongs to, if it is valid now.
    public func user(apiToken: String) async throws -> User? {
        try await store.user(tokenHash: Secrets.hashToken(apiToken), now: Date())
    }

    /// The user a session belongs to, if it has not ended.
    public func user(session: String) async throws -> User? {
        try await store.user(sessionHash: Secrets.hashToken(session), now: Date(), idleLimit: Self.sessionIdleLimit)
    }

    /// The token a browser sends with every write it makes under `session`'s cookie
    /// (`X-CSRF-Token`). It is derived from the session's secret, so a page of another site, which
    /// can make the browser send the cookie but cannot read it, cannot know it either; and a new
    /// session has a new one.
    public static func csrfToken(session: String) -> String { Secrets.hashToken("csrf.\(session)") }

    public func signIn(username: String, password: String) async throws -> Session {
        guard let stored = try await store.user(username: username), Secrets.verifyPassword(password, hash: stored.passwordHash) else {
            throw CroniumError(.unauthorized, "wrong username or password")
        }
        let secret = Secrets.newToken()
        let now = Date()
        let expiresAt = now + Self.sessionLifetime
        try await store.insertSession(tokenHash: Secrets.hashToken(secret), userId: stored.user.id, now: now, expiresAt: expiresAt)
        return Session(user: stored.user, secret: secret, expiresAt: expiresAt)
    }

    /// Ends the session on the server: its cookie no longer works anywhere.
    public func signOut(session: String) async throws {
        try await store.deleteSession(tokenHash: Secrets.hashToken(session))
    }

    /// Changes the caller's own password, given the current one; every other session of theirs
    /// ends (`session`, the one asking, if any, stays).
    public func changePassword(of caller: User, current: String, new: String, session: String?) async throws {
        guard let stored = try await store.user(username: caller.username), Secrets.verifyPassword(current, hash: stored.passwordHash) else {
            throw ValidationError(field: "currentPassword", message: "is not your current password")
        }
        if let problem = Self.passwordProblem(new, field: "newPassword") { throw ValidationError([problem]) }
        try await store.updatePassword(
            userId: caller.id,
            passwordHash: Secrets.hashPassword(new, cost: bcryptCost),
            keepingSession: session.map(Secrets.hashToken)
        )
    }

    /// What is wrong with a password a person chose, if anything.
    static func passwordProblem(_ password: String, field: String) -> FieldProblem? {
        password.count < 8 ? FieldProblem(field: field, message: "must be at least 8 characters") : nil
    }

    public func users(by caller: User) async throws -> [User] {
        guard caller.role == .admin else { throw CroniumError.forbidden }
        return try await store.users()
    }

    /// Creates a user; returns the password too when it was generated (shown this once).
    public func createUser(_ input: NewUser, by caller: User) async throws -> (user: User, generatedPassword: String?) {
        guard caller.role == .admin else { throw CroniumError.forbidden }
        var problems: [FieldProblem] = []
        let validName =
            !input.username.isEmpty && input.username.count <= 64
            && input.username.allSatisfy { $0.isLetter || $0.isNumber || "._-".contains($0) }
        if !validName { problems.append(.init(field: "username", message: "must be 1 to 64 letters, digits, '.', '_' or '-'")) }
        if let problem = input.password.flatMap({ Self.passwordProblem($0, field: "password") }) { problems.append(problem) }
        try ValidationError.check(problems)
        let password = input.password ?? Secrets.newPassword()
        let user = try await store.insertUser(
            username: input.username,
            passwordHash: Secrets.hashPassword(password, cost: bcryptCost),
            role: input.role ?? .user,
            now: Date()
        )
        return (user, input.password == nil ? password : nil)
    }

    /// The caller's tokens; an administrator's `all` lists everyone's.
    public func tokens(of caller: User, all: Bool) async throws -> [APIToken] {
        try await store.tokens(userId: caller.role == .admin && all ? nil : caller.id)
    }

    /// A new API token for the caller; the secret is returned this once and only its hash kept.
    public func createToken(named name: String, for caller: User) async throws -> (token: APIToken, secret: String) {
        guard !name.isEmpty, name.count <= 100 else { throw ValidationError(field: "name", message: "must be 1 to 100 characters") }
        let secret = Secrets.newToken()
        let token = try await store.insertToken(
            userId: caller.id,
            name: name,
            prefix: String(secret.prefix(12)),
            tokenHash: Secrets.hashToken(secret),
            now: Date()
        )
        return (token, secret)
    }

    /// Revokes one of the caller's tokens (any token, for an administrator).
    public func revokeToken(_ id: TokenID, by caller: User) async throws {
        guard try await store.revokeToken(id: id, userId: caller.role == .admin ? nil : caller.id, now: Date()) else {
            throw CroniumError.notFound("token \(id)")
        }
    }
}

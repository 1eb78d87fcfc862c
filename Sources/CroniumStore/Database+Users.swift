import CroniumCore
import Foundation
import SQLKit

/// A user row with its password hash, which never leaves the server.
public struct StoredUser: Sendable {
    public var user: User
    public var passwordHash: String
}

extension Database {
    public func userCount() async throws -> Int {
        try await read { sql in try await sql.raw("SELECT COUNT(*) AS n FROM users").first(decodingColumn: "n", as: Int.self) ?? 0 }
    }

    /// Throws a `CONFLICT` ``CroniumError`` when the name is taken.
    public func insertUser(username: String, passwordHash: String, role: Role, now: Date) async throws -> User {
        try await transaction { sql in
            let taken = try await sql.raw("SELECT id FROM users WHERE username = \(bind: username)").first() != nil
            if taken { throw CroniumError(.conflict, "a user named \(username) already exists") }
            let id = try await sql.raw(
                """
                INSERT INTO users (username, password_hash, role, created_at)
                VALUES (\(bind: username), \(bind: passwordHash), \(bind: role.rawValue), \(bind: now.millis)) RETURNING id
                """
            ).first(decodingColumn: "id", as: UserID.self).required("the new user's id")
            return User(id: id, username: username, role: role, createdAt: now)
        }
    }

    public func user(username: String) async throws -> StoredUser? {
        try await read { sql in
            try await sql.raw("SELECT * FROM users WHERE username = \(bind: username)").first().map(Self.decodeStoredUser)
        }
    }

    public func user(id: UserID) async throws -> User? {
        try await read { sql in
            try await sql.raw("SELECT * FROM users WHERE id = \(bind: id)").first().map(Self.decodeStoredUser)?.user
        }
    }

    public func users() async throws -> [User] {
        try await read { sql in try await sql.raw("SELECT * FROM users ORDER BY id").all().map { try Self.decodeStoredUser($0).user } }
    }

    // MARK: - API tokens

    public func insertToken(userId: UserID, name: String, prefix: String, tokenHash: String, now: Date) async throws -> APIToken {
        try await transaction { sql in
            let id = try await sql.raw(
                """
                INSERT INTO api_tokens (user_id, name, prefix, token_hash, created_at)
                VALUES (\(bind: userId), \(bind: name), \(bind: prefix), \(bind: tokenHash), \(bind: now.millis)) RETURNING id
                """
            ).first(decodingColumn: "id", as: TokenID.self).required("the new token's id")
            return APIToken(id: id, userId: userId, name: name, prefix: prefix, createdAt: now, lastUsedAt: nil, revokedAt: nil)
        }
    }

    /// The user of a live (not revoked) token. Its `last_used_at` is written at most once a
    /// minute, so that a busy client costs a read per request, not a write.
    public func user(tokenHash: String, now: Date) async throws -> User? {
        let found = try await read { sql -> (user: User, usedAt: Int64?)? in
            guard
                let row = try await sql.raw(
                    """
                    SELECT users.*, api_tokens.last_used_at AS token_used_at FROM api_tokens JOIN users ON users.id = api_tokens.user_id
                    WHERE api_tokens.token_hash = \(bind: tokenHash) AND api_tokens.revoked_at IS NULL
                    """
                ).first()
            else { return nil }
            return (try Self.decodeStoredUser(row).user, try row.decode(column: "token_used_at", as: Int64?.self))
        }
        guard let found else { return nil }
        if found.usedAt.map({ $0 < now.millis - 60_000 }) ?? true {
            try await transaction { sql in
                try await sql.raw("UPDATE api_tokens SET last_used_at = \(bind: now.millis) WHERE token_hash = \(bind: tokenHash)").run()
            }
        }
        return found.user
    }

    public func tokens(userId: UserID?) async throws -> [APIToken] {
        try await read { sql in
            let rows: [any SQLRow]
            if let userId {
                rows = try await sql.raw("SELECT * FROM api_tokens WHERE user_id = \(bind: userId) ORDER BY id").all()
            } else {
                rows = try await sql.raw("SELECT * FROM api_tokens ORDER BY id").all()
            }
            return try rows.map {
                APIToken(
                    id: try $0.decode(column: "id", as: TokenID.self),
                    userId: try $0.decode(column: "user_id", as: UserID.self),
                    name: try $0.decode(column: "name", as: String.self),
                    prefix: try $0.decode(column: "prefix", as: String.self),
                    createdAt: Date(millis: try $0.decode(column: "created_at", as: Int64.self)),
                    lastUsedAt: try $0.decode(column: "last_used_at", as: Int64?.self).map(Date.init(millis:)),
                    revokedAt: try $0.decode(column: "revoked_at", as: Int64?.self).map(Date.init(millis:))
                )
            }
        }
    }

    /// Revokes a token; `userId` limits it to the caller's own tokens. Returns false when nothing matched.
    public func revokeToken(id: TokenID, userId: UserID?, now: Date) async throws -> Bool {
        try await transaction { sql in
            let rows: [any SQLRow]
            if let userId {
                rows = try await sql.raw(
                    "UPDATE api_tokens SET revoked_at = \(bind: now.millis) WHERE id = \(bind: id) AND user_id = \(bind: userId) AND revoked_at IS NULL RETURNING id"
                ).all()
            } else {
                rows = try await sql.raw(
                    "UPDATE api_tokens SET revoked_at = \(bind: now.millis) WHERE id = \(bind: id) AND revoked_at IS NULL RETURNING id"
                ).all()
            }
            return !rows.isEmpty
        }
    }

    // MARK: - Browser sessions

    public func insertSession(tokenHash: String, userId: UserID, now: Date, expiresAt: Date) async throws {
        try await transaction { sql in
            try await sql.raw(
                "INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES (\(bind: tokenHash), \(bind: userId), \(bind: now.millis), \(bind: expiresAt.millis))"
            ).run()
        }
    }

    public func user(sessionHash: String, now: Date, idleLimit: TimeInterval) async throws -> User? {
        let found = try await read { sql -> (user: User, seenAt: Int64)? in
            guard
                let row = try await sql.raw(
                    """
                    SELECT users.*, COALESCE(sessions.last_seen_at, sessions.created_at) AS session_seen_at
                    FROM sessions JOIN users ON users.id = sessions.user_id
                    WHERE sessions.token_hash = \(bind: sessionHash) AND sessions.expires_at > \(bind: now.millis)
                    """
                ).first()
            else { return nil }
            return (try Self.decodeStoredUser(row).user, try row.decode(column: "session_seen_at", as: Int64.self))
        }
        guard let found, found.seenAt > (now - idleLimit).millis else { return nil }
        if found.seenAt < now.millis - 60_000 {
            try await transaction { sql in
                try await sql.raw("UPDATE sessions SET last_seen_at = \(bind: now.millis) WHERE token_hash = \(bind: sessionHash)").run()
            }
        }
        return found.user
    }

    public func deleteSession(tokenHash: String) async throws {
        try await transaction { sql in try await sql.raw("DELETE FROM sessions WHERE token_hash = \(bind: tokenHash)").run() }
    }

    public func updatePassword(userId: UserID, passwordHash: String, keepingSession: String?) async throws {
        try await transaction { sql in
            try await sql.raw("UPDATE users SET password_hash = \(bind: passwordHash) WHERE id = \(bind: userId)").run()
            try await sql.raw(
                "DELETE FROM sessions WHERE user_id = \(bind: userId) AND token_hash != \(bind: keepingSession ?? "")"
            ).run()
        }
    }

    static func decodeStoredUser(_ row: any SQLRow) throws -> StoredUser {
        StoredUser(
            user: User(
                id: try row.decode(column: "id", as: UserID.self),
                username: try row.decode(column: "username", as: String.self),
                role: try row.decode(column: "role", as: Role.self),
                createdAt: Date(millis: try row.decode(column: "created_at", as: Int64.self))
            ),
            passwordHash: try row.decode(column: "password_hash", as: String.self)
        )
    }
}

import CroniumCore
import Foundation

/// Users, their API tokens and their sessions.
public protocol AccountStore: Sendable {
    func userCount() async throws -> Int
    /// Throws a `CONFLICT` ``CroniumError`` when the name is taken.
    func insertUser(username: String, passwordHash: String, role: Role, now: Date) async throws -> User
    func user(username: String) async throws -> StoredUser?
    func user(id: UserID) async throws -> User?
    func users() async throws -> [User]
    func insertToken(userId: UserID, name: String, prefix: String, tokenHash: String, now: Date) async throws -> APIToken
    /// The user of a live (not revoked) token. Its `last_used_at` is written at most once a
    /// minute, so that a busy client costs a read per request, not a write.
    func user(tokenHash: String, now: Date) async throws -> User?
    func tokens(userId: UserID?) async throws -> [APIToken]
    /// Revokes a token; `userId` limits it to the caller's own tokens. Returns false when nothing matched.
    func revokeToken(id: TokenID, userId: UserID?, now: Date) async throws -> Bool
    func insertSession(tokenHash: String, userId: UserID, now: Date, expiresAt: Date) async throws
    /// The user of a session that has not ended: before its absolute end, and used within
    /// `idleLimit`. Its `last_seen_at` is written at most once a minute.
    func user(sessionHash: String, now: Date, idleLimit: TimeInterval) async throws -> User?
    func deleteSession(tokenHash: String) async throws
    /// Sets a new password hash and ends the user's sessions but `keepingSession` (a hash), in one
    /// transaction: whoever held the old password is signed out everywhere else.
    func updatePassword(userId: UserID, passwordHash: String, keepingSession: String?) async throws
}

import CroniumCore
import CroniumStore
import Foundation

/// What the first start of an empty data directory creates.
public struct InitialAdmin: Sendable {
    public let username: String
    public let password: String
    public let tokenPath: String
}

extension Accounts {
    /// With no users yet, creates `admin` with a random password (returned, to be printed once) and
    /// writes an admin API token to `<data-dir>/initial-admin-token` with mode 0600.
    public func createAdminIfNeeded(dataDirectory: String) async throws -> InitialAdmin? {
        guard try await store.userCount() == 0 else { return nil }
        let password = Secrets.newPassword()
        let admin = try await store.insertUser(
            username: "admin",
            passwordHash: Secrets.hashPassword(password, cost: bcryptCost),
            role: .admin,
            now: Date()
        )
        let token = Secrets.newToken()
        _ = try await store.insertToken(
            userId: admin.id,
            name: "initial-admin-token",
            prefix: String(token.prefix(12)),
            tokenHash: Secrets.hashToken(token),
            now: Date()
        )
        let path = "\(dataDirectory)/initial-admin-token"
        guard FileManager.default.createFile(atPath: path, contents: Data((token + "\n").utf8), attributes: [.posixPermissions: 0o600]) else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path])
        }
        return InitialAdmin(username: "admin", password: password, tokenPath: path)
    }
}

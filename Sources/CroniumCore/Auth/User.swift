import Foundation

public enum Role: String, Sendable, ClosedSetCodable {
    /// Sees and changes everything, manages users.
    case admin
    /// Sees and runs their own and shared events; changes only their own.
    case user
    /// Reads their own and shared events and runs; changes nothing.
    case viewer
}

public struct User: Codable, Sendable, Equatable, Identifiable {
    public var id: UserID
    public var username: String
    public var role: Role
    public var createdAt: Date

    public init(id: UserID, username: String, role: Role, createdAt: Date) {
        self.id = id
        self.username = username
        self.role = role
        self.createdAt = createdAt
    }

    public func canRead(_ event: Event) -> Bool { role == .admin || event.ownerId == id || event.shared }
    public func canRun(_ event: Event) -> Bool { role != .viewer && canRead(event) }
    public func canChange(_ event: Event) -> Bool { role == .admin || (role == .user && event.ownerId == id) }
    public func canChange(_ workflow: Workflow) -> Bool { role == .admin || (role == .user && workflow.ownerId == id) }
    public var canCreate: Bool { role != .viewer }
}

/// An API token as listed: the secret itself is shown once at creation and only its hash is kept.
public struct APIToken: Codable, Sendable, Equatable, Identifiable {
    public var id: TokenID
    public var userId: UserID
    public var name: String
    /// The first characters of the token, so a person can tell tokens apart without the secret.
    public var prefix: String
    public var createdAt: Date
    public var lastUsedAt: Date?
    public var revokedAt: Date?

    public init(id: TokenID, userId: UserID, name: String, prefix: String, createdAt: Date, lastUsedAt: Date? = nil, revokedAt: Date? = nil) {
        self.id = id
        self.userId = userId
        self.name = name
        self.prefix = prefix
        self.createdAt = createdAt
        self.lastUsedAt = lastUsedAt
        self.revokedAt = revokedAt
    }
}

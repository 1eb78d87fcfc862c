import CroniumCore
import Foundation
import SQLKit

/// A variable as stored: a secret's value is the cipher text the engine made of it.
public struct StoredVariable: Sendable, Equatable {
    public var id: Int64
    public var ownerId: UserID
    public var key: String
    public var storedValue: String
    public var secret: Bool
    public var description: String?
    public var createdAt: Date
    public var updatedAt: Date

    public init(
        id: Int64 = 0,
        ownerId: UserID,
        key: String,
        storedValue: String,
        secret: Bool,
        description: String?,
        createdAt: Date,
        updatedAt: Date
    ) {
        self.id = id
        self.ownerId = ownerId
        self.key = key
        self.storedValue = storedValue
        self.secret = secret
        self.description = description
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

extension Database {
    public func variables(ownerId: UserID) async throws -> [StoredVariable] {
        try await read { sql in
            try await sql.raw("SELECT * FROM variables WHERE owner_id = \(bind: ownerId) ORDER BY key").all().map(Self.decodeVariable)
        }
    }

    public func variable(ownerId: UserID, key: String) async throws -> StoredVariable? {
        try await read { sql in
            try await sql.raw("SELECT * FROM variables WHERE owner_id = \(bind: ownerId) AND key = \(bind: key)").first().map(Self.decodeVariable)
        }
    }

    /// The stored values of the owner's secrets: what a run of theirs must never show in its log.
    public func secretValues(ownerId: UserID) async throws -> [String] {
        try await read { sql in
            try await sql.raw("SELECT value FROM variables WHERE owner_id = \(bind: ownerId) AND secret = \(bind: true)").all(
                decodingColumn: "value",
                as: String.self
            )
        }
    }

    /// Writes each variable, creating or replacing it by owner and key, in one transaction.
    public func saveVariables(_ variables: [StoredVariable]) async throws {
        try await transaction { sql in
            for variable in variables {
                try await sql.raw(
                    """
                    INSERT INTO variables (owner_id, key, value, secret, description, created_at, updated_at)
                    VALUES (\(bind: variable.ownerId), \(bind: variable.key), \(bind: variable.storedValue), \(bind: variable.secret),
                      \(bind: variable.description), \(bind: variable.createdAt.millis), \(bind: variable.updatedAt.millis))
                    ON CONFLICT (owner_id, key) DO UPDATE SET value = excluded.value, secret = excluded.secret,
                      description = excluded.description, updated_at = excluded.updated_at
                    """
                ).run()
            }
        }
    }

    /// Whether there was such a variable.
    public func deleteVariable(ownerId: UserID, key: String) async throws -> Bool {
        try await transaction { sql in
            try await sql.raw("DELETE FROM variables WHERE owner_id = \(bind: ownerId) AND key = \(bind: key) RETURNING id").first() != nil
        }
    }

    static func decodeVariable(_ row: any SQLRow) throws -> StoredVariable {
        StoredVariable(
            id: try row.decode(column: "id", as: Int64.self),
            ownerId: try row.decode(column: "owner_id", as: UserID.self),
            key: try row.decode(column: "key", as: String.self),
            storedValue: try row.decode(column: "value", as: String.self),
            secret: try row.decode(column: "secret", as: Bool.self),
            description: try row.decode(column: "description", as: String?.self),
            createdAt: Date(millis: try row.decode(column: "created_at", as: Int64.self)),
            updatedAt: Date(millis: try row.decode(column: "updated_at", as: Int64.self))
        )
    }
}

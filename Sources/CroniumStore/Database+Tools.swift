import CroniumCore
import Foundation
import SQLKit

/// A tool as stored: what may be shown as JSON, and its credential as the engine sealed it.
public struct StoredTool: Sendable, Equatable {
    public var tool: Tool
    public var ownerId: UserID
    public var sealedCredential: String

    public init(tool: Tool, ownerId: UserID, sealedCredential: String) {
        self.tool = tool
        self.ownerId = ownerId
        self.sealedCredential = sealedCredential
    }
}

extension Database {
    /// The user's own tools and the shared ones, by name.
    public func tools(usableBy userId: UserID) async throws -> [StoredTool] {
        try await read { sql in
            try await sql.raw("SELECT * FROM tools WHERE owner_id = \(bind: userId) OR shared = \(bind: true) ORDER BY name, id").all().map(
                Self.decodeTool
            )
        }
    }

    /// The tool `name` for `userId`: their own, or else a shared one of that name.
    public func tool(named name: String, usableBy userId: UserID) async throws -> StoredTool? {
        try await read { sql in
            try await sql.raw(
                """
                SELECT * FROM tools WHERE name = \(bind: name) AND (owner_id = \(bind: userId) OR shared = \(bind: true))
                ORDER BY CASE WHEN owner_id = \(bind: userId) THEN 0 ELSE 1 END, id LIMIT 1
                """
            ).first().map(Self.decodeTool)
        }
    }

    /// Stores a new tool (id 0) or replaces one; a name the owner already uses is a conflict.
    public func saveTool(_ stored: StoredTool) async throws -> Tool {
        let t = stored.tool
        let data = try Self.json(t)
        return try await transaction { sql in
            if try await sql.raw("SELECT id FROM tools WHERE owner_id = \(bind: stored.ownerId) AND name = \(bind: t.name) AND id <> \(bind: t.id)")
                .first() != nil
            {
                throw CroniumError(.conflict, "you already have a tool named \(t.name)")
            }
            var saved = t
            if t.id.rawValue == 0 {
                saved.id = try await sql.raw(
                    """
                    INSERT INTO tools (owner_id, name, type, shared, data, credential, created_at, updated_at)
                    VALUES (\(bind: stored.ownerId), \(bind: t.name), \(bind: t.type.rawValue), \(bind: t.shared), \(bind: data),
                      \(bind: stored.sealedCredential), \(bind: t.createdAt.millis), \(bind: t.updatedAt.millis))
                    RETURNING id
                    """
                ).first(decodingColumn: "id", as: ToolID.self).required("the new tool's id")
            } else {
                try await sql.raw(
                    """
                    UPDATE tools SET name = \(bind: t.name), shared = \(bind: t.shared), data = \(bind: data),
                      credential = \(bind: stored.sealedCredential), updated_at = \(bind: t.updatedAt.millis)
                    WHERE id = \(bind: t.id)
                    """
                ).run()
            }
            return saved
        }
    }

    /// Whether the owner had such a tool.
    public func deleteTool(ownerId: UserID, name: String) async throws -> Bool {
        try await transaction { sql in
            try await sql.raw("DELETE FROM tools WHERE owner_id = \(bind: ownerId) AND name = \(bind: name) RETURNING id").first() != nil
        }
    }

    static func decodeTool(_ row: any SQLRow) throws -> StoredTool {
        var tool = try fromJSON(Tool.self, try row.decode(column: "data", as: String.self))
        tool.id = try row.decode(column: "id", as: ToolID.self)
        return StoredTool(
            tool: tool,
            ownerId: try row.decode(column: "owner_id", as: UserID.self),
            sealedCredential: try row.decode(column: "credential", as: String.self)
        )
    }
}

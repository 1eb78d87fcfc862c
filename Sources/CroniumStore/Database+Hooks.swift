import CroniumCore
import Foundation
import SQLKit

extension Database: HookStore {
    public func saveHook(_ hook: StoredHook) async throws -> StoredHook {
        let (eventId, workflowId) = Self.columns(of: hook.target)
        return try await transaction { sql in
            try await sql.raw("DELETE FROM hooks WHERE event_id = \(bind: eventId) OR workflow_id = \(bind: workflowId)").run()
            var saved = hook
            saved.createdAt = Date(millis: hook.createdAt.millis)
            saved.id = try await sql.raw(
                """
                INSERT INTO hooks (event_id, workflow_id, key_hash, sealed, signed, created_at)
                VALUES (\(bind: eventId), \(bind: workflowId), \(bind: hook.keyHash), \(bind: hook.sealed), \(bind: hook.signed),
                  \(bind: hook.createdAt.millis))
                RETURNING id
                """
            ).first(decodingColumn: "id", as: Int64.self).required("the new hook's id")
            return saved
        }
    }

    public func hook(for target: RunTarget) async throws -> StoredHook? {
        let (eventId, workflowId) = Self.columns(of: target)
        return try await read { sql in
            try await sql.raw("SELECT * FROM hooks WHERE event_id = \(bind: eventId) OR workflow_id = \(bind: workflowId)").first().map(
                Self.decodeHook
            )
        }
    }

    public func hook(keyHash: String) async throws -> StoredHook? {
        try await read { sql in try await sql.raw("SELECT * FROM hooks WHERE key_hash = \(bind: keyHash)").first().map(Self.decodeHook) }
    }

    public func deleteHook(for target: RunTarget) async throws -> Bool {
        let (eventId, workflowId) = Self.columns(of: target)
        return try await transaction { sql in
            try await sql.raw("DELETE FROM hooks WHERE event_id = \(bind: eventId) OR workflow_id = \(bind: workflowId) RETURNING id").first() != nil
        }
    }

    public func acceptSignature(_ signature: String, hookId: Int64, now: Date, forgetAt: Date) async throws -> Bool {
        try await transaction { sql in
            try await sql.raw("DELETE FROM hook_signatures WHERE forget_at < \(bind: now.millis)").run()
            return try await sql.raw(
                """
                INSERT INTO hook_signatures (hook_id, signature, forget_at) VALUES (\(bind: hookId), \(bind: signature), \(bind: forgetAt.millis))
                ON CONFLICT (hook_id, signature) DO NOTHING RETURNING hook_id
                """
            ).first() != nil
        }
    }

    /// The target's column, and NULL in the other (which `=` never matches).
    private static func columns(of target: RunTarget) -> (event: EventID?, workflow: WorkflowID?) {
        switch target {
        case .event(let id): (id, nil)
        case .workflow(let id): (nil, id)
        }
    }

    static func decodeHook(_ row: any SQLRow) throws -> StoredHook {
        let target: RunTarget =
            if let id = try row.decode(column: "event_id", as: EventID?.self) {
                .event(id)
            } else {
                .workflow(try row.decode(column: "workflow_id", as: WorkflowID.self))
            }
        return StoredHook(
            id: try row.decode(column: "id", as: Int64.self),
            target: target,
            keyHash: try row.decode(column: "key_hash", as: String.self),
            sealed: try row.decode(column: "sealed", as: String.self),
            signed: try row.decode(column: "signed", as: Bool.self),
            createdAt: Date(millis: try row.decode(column: "created_at", as: Int64.self))
        )
    }
}

import CroniumCore
import Foundation
import SQLKit

extension Database {
    /// Stores a new event and returns it with its id.
    public func insertEvent(_ event: Event) async throws -> Event {
        try await saveEvents(inserting: [event], updating: [])[0]
    }

    /// Replaces an event's definition. The execution counter is owned by the engine, so it is only
    /// written here when the caller deliberately reset it (re-activation).
    public func updateEvent(_ event: Event) async throws {
        _ = try await saveEvents(inserting: [], updating: [event])
    }

    /// Inserts and updates events in one transaction, all or none (an import); returns the
    /// inserted ones with their ids. `revise`, given every saved event (the inserted ones with
    /// their ids), returns events to write again in the same transaction (references to events
    /// that had no id before); it may throw to undo everything.
    public func saveEvents(
        inserting new: [Event],
        updating changed: [Event],
        revise: (@Sendable ([Event]) throws -> [Event])? = nil
    ) async throws -> [Event] {
        let newData = try new.map(Self.encode)
        let changedData = try changed.map(Self.encode)
        return try await transaction { sql in
            var inserted: [Event] = []
            for (event, data) in zip(new, newData) {
                var stored = event
                stored.id = try await sql.raw(
                    """
                    INSERT INTO events (owner_id, name, type, status, trigger_type, shared, execution_count, data, retention, created_at, updated_at)
                    VALUES (\(bind: event.ownerId), \(bind: event.name), \(bind: event.type.rawValue), \(bind: event.status.rawValue),
                      \(bind: event.triggerType.rawValue), \(bind: event.shared), \(bind: event.executionCount), \(bind: data),
                      \(bind: try Self.encodeRetention(event)), \(bind: event.createdAt.millis), \(bind: event.updatedAt.millis))
                    RETURNING id
                    """
                ).first(decodingColumn: "id", as: EventID.self).required("the new event's id")
                inserted.append(stored)
            }
            for (event, data) in zip(changed, changedData) {
                try await sql.raw(
                    """
                    UPDATE events SET name = \(bind: event.name), type = \(bind: event.type.rawValue), status = \(bind: event.status.rawValue),
                      trigger_type = \(bind: event.triggerType.rawValue), shared = \(bind: event.shared), data = \(bind: data),
                      retention = \(bind: try Self.encodeRetention(event)),
                      execution_count = \(bind: event.executionCount), updated_at = \(bind: event.updatedAt.millis)
                    WHERE id = \(bind: event.id)
                    """
                ).run()
            }
            for event in try revise?(inserted + changed) ?? [] {
                try await sql.raw("UPDATE events SET data = \(bind: try Self.encode(event)) WHERE id = \(bind: event.id)").run()
            }
            return inserted
        }
    }

    public func deleteEvent(id: EventID) async throws {
        try await transaction { sql in try await sql.raw("DELETE FROM events WHERE id = \(bind: id)").run() }
    }

    public func event(id: EventID) async throws -> Event? {
        try await read { sql in
            try await sql.raw("SELECT * FROM events WHERE id = \(bind: id)").first().map(Self.decodeEvent)
        }
    }

    /// Events in id order; `ownerOrShared` limits them to those a non-admin user may see.
    public func events(ownerOrShared userId: UserID? = nil) async throws -> [Event] {
        try await read { sql in
            let rows: [any SQLRow]
            if let userId {
                rows = try await sql.raw("SELECT * FROM events WHERE owner_id = \(bind: userId) OR shared ORDER BY id").all()
            } else {
                rows = try await sql.raw("SELECT * FROM events ORDER BY id").all()
            }
            return try rows.map(Self.decodeEvent)
        }
    }

    /// Events the scheduler should plan for.
    public func scheduledEvents() async throws -> [Event] {
        try await read { sql in
            try await sql.raw("SELECT * FROM events WHERE status = 'ACTIVE' AND trigger_type = 'SCHEDULE' ORDER BY id").all()
                .map(Self.decodeEvent)
        }
    }

    /// An event's own retention limits, in a column of their own so that the purge reads only the
    /// events that have some.
    static func encodeRetention(_ event: Event) throws -> String? {
        try event.retention.map { String(decoding: try JSONEncoder().encode($0), as: UTF8.self) }
    }

    static func encode(_ event: Event) throws -> String {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .millisecondsSince1970
        return String(decoding: try encoder.encode(event), as: UTF8.self)
    }

    /// The JSON column holds the definition; the columns hold what SQL filters or updates on its own.
    static func decodeEvent(_ row: any SQLRow) throws -> Event {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .millisecondsSince1970
        var event = try decoder.decode(Event.self, from: Data(try row.decode(column: "data", as: String.self).utf8))
        event.id = try row.decode(column: "id", as: EventID.self)
        event.ownerId = try row.decode(column: "owner_id", as: UserID.self)
        event.status = try row.decode(column: "status", as: EventStatus.self)
        event.executionCount = try row.decode(column: "execution_count", as: Int.self)
        event.updatedAt = Date(millis: try row.decode(column: "updated_at", as: Int64.self))
        return event
    }
}

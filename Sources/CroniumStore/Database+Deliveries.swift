import CroniumCore
import Foundation
import SQLKit

extension Database {
    static func insert(_ delivery: Delivery, in sql: any SQLDatabase) async throws {
        try await sql.raw(
            """
            INSERT INTO deliveries (execution_id, action_position, owner_id, tool_name, subject, text, recipients, html, status, attempts, created_at)
            VALUES (\(bind: delivery.executionId), \(bind: delivery.actionPosition), \(bind: delivery.ownerId), \(bind: delivery.toolName),
              \(bind: delivery.subject), \(bind: delivery.text), \(bind: try recipients(delivery.to)), \(bind: delivery.html),
              \(bind: delivery.status.rawValue), 0, \(bind: delivery.createdAt.millis))
            """
        ).run()
    }

    static func recipients(_ to: [String]?) throws -> String? {
        try to.map { String(decoding: try JSONEncoder().encode($0), as: UTF8.self) }
    }

    /// Records a delivery that its sender tries itself (a `TOOL_ACTION` run): it is not left
    /// pending for the delivery worker.
    public func recordDelivery(_ delivery: Delivery) async throws -> DeliveryID {
        try await transaction { sql in
            try await sql.raw(
                """
                INSERT INTO deliveries (execution_id, action_position, owner_id, tool_name, subject, text, recipients, html, status, attempts, created_at)
                VALUES (\(bind: delivery.executionId), NULL, \(bind: delivery.ownerId), \(bind: delivery.toolName), \(bind: delivery.subject),
                  \(bind: delivery.text), \(bind: try Self.recipients(delivery.to)), \(bind: delivery.html), 'SENDING', 0, \(bind: delivery.createdAt.millis))
                RETURNING id
                """
            ).first(decodingColumn: "id", as: DeliveryID.self).required("the new delivery's id")
        }
    }

    /// Messages not yet tried to the end, oldest first, but those in `excluded` (being tried now)
    /// and those through the tools in `excludedTools` (owner and tool name: tools busy enough).
    public func pendingDeliveries(
        excluding excluded: Set<DeliveryID>,
        excludingTools excludedTools: [(owner: UserID, tool: String)] = [],
        limit: Int
    ) async throws -> [Delivery] {
        try await read { sql in
            var query = SQLQueryString("SELECT * FROM deliveries WHERE status = 'PENDING'")
            if !excluded.isEmpty {
                query.appendInterpolation(unsafeRaw: " AND id NOT IN (")
                query.appendInterpolation(binds: Array(excluded))
                query.appendInterpolation(unsafeRaw: ")")
            }
            for (owner, tool) in excludedTools {
                query.appendInterpolation(unsafeRaw: " AND NOT (owner_id = ")
                query.appendInterpolation(bind: owner)
                query.appendInterpolation(unsafeRaw: " AND tool_name = ")
                query.appendInterpolation(bind: tool)
                query.appendInterpolation(unsafeRaw: ")")
            }
            query.appendInterpolation(unsafeRaw: " ORDER BY id LIMIT ")
            query.appendInterpolation(bind: limit)
            let finalQuery = query
            return try await sql.raw(finalQuery).all().map(Self.decodeDelivery)
        }
    }

    /// Records how a delivery ended, and the action that sent it with it: fired when delivered,
    /// failed with the far end's words when not.
    public func finishDelivery(_ id: DeliveryID, delivered: Bool, attempts: Int, answerStatus: Int?, answer: String?, error: String?, at time: Date)
        async throws
    {
        try await transaction { sql in
            guard
                let row = try await sql.raw(
                    """
                    UPDATE deliveries SET status = \(bind: delivered ? "DELIVERED" : "FAILED"), attempts = \(bind: attempts),
                      answer_status = \(bind: answerStatus), answer = \(bind: answer), error = \(bind: error), finished_at = \(bind: time.millis)
                    WHERE id = \(bind: id) RETURNING execution_id, action_position
                    """
                ).first(), let position = try row.decode(column: "action_position", as: Int?.self)
            else { return }
            let executionId = try row.decode(column: "execution_id", as: ExecutionID.self)
            try await sql.raw(
                """
                UPDATE action_firings SET status = \(bind: delivered ? "FIRED" : "FAILED"), error = \(bind: delivered ? nil : error)
                WHERE execution_id = \(bind: executionId) AND position = \(bind: position)
                """
            ).run()
        }
    }

    /// The messages sent about a run, in the order they were asked for.
    public func deliveries(of executionId: ExecutionID) async throws -> [Delivery] {
        try await read { sql in
            try await sql.raw("SELECT * FROM deliveries WHERE execution_id = \(bind: executionId) ORDER BY id").all().map(Self.decodeDelivery)
        }
    }

    public func deliveries(toolName: String, ownerId: UserID?, limit: Int) async throws -> [Delivery] {
        try await read { sql in
            if let ownerId {
                return try await sql.raw(
                    """
                    SELECT * FROM deliveries WHERE tool_name = \(bind: toolName) AND owner_id = \(bind: ownerId)
                    ORDER BY id DESC LIMIT \(bind: limit)
                    """
                ).all().map(Self.decodeDelivery)
            }
            return try await sql.raw("SELECT * FROM deliveries WHERE tool_name = \(bind: toolName) ORDER BY id DESC LIMIT \(bind: limit)")
                .all().map(Self.decodeDelivery)
        }
    }

    static func decodeDelivery(_ row: any SQLRow) throws -> Delivery {
        Delivery(
            id: try row.decode(column: "id", as: DeliveryID.self),
            executionId: try row.decode(column: "execution_id", as: ExecutionID.self),
            actionPosition: try row.decode(column: "action_position", as: Int?.self),
            ownerId: try row.decode(column: "owner_id", as: UserID.self),
            toolName: try row.decode(column: "tool_name", as: String.self),
            subject: try row.decode(column: "subject", as: String?.self),
            text: try row.decode(column: "text", as: String.self),
            to: try row.decode(column: "recipients", as: String?.self).map { try JSONDecoder().decode([String].self, from: Data($0.utf8)) },
            html: try row.decode(column: "html", as: String?.self),
            status: Delivery.Status(rawValue: try row.decode(column: "status", as: String.self)) ?? .failed,
            attempts: try row.decode(column: "attempts", as: Int.self),
            answerStatus: try row.decode(column: "answer_status", as: Int?.self),
            answer: try row.decode(column: "answer", as: String?.self),
            error: try row.decode(column: "error", as: String?.self),
            createdAt: Date(millis: try row.decode(column: "created_at", as: Int64.self)),
            finishedAt: try row.decode(column: "finished_at", as: Int64?.self).map(Date.init(millis:))
        )
    }
}

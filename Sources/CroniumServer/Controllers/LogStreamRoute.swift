import CroniumCore
import CroniumEngine
import Foundation
import Hummingbird
import HummingbirdWebSocket
import Logging
import NIOWebSocket

/// `GET /api/v1/executions/{id}/logs/stream` (WebSocket): replays the stored log, follows the
/// live one, then sends the final status and closes. Each message is one JSON object:
/// `{"type":"line","seq":1,"time":"…","stream":"stdout","text":"…"}` or `{"type":"finished","status":"SUCCESS"}`.
/// Clients send any message (the CLI sends `start`) to start the stream at once. `?after=N`
/// leaves out the lines up to `seq` N (a client that read the stored log first); `?batch=true`
/// sends the lines that come together as one `{"type":"lines","lines":[…]}` message.
struct LogStreamRoute {
    let engine: Engine

    func addRoute(to router: Router<AppRequestContext>) {
        // Every upgrade is taken; the checks come after it, so a refusal can say why (see `refuse`).
        router.ws("/api/v1/executions/:id/logs/stream") { inbound, outbound, context in
            let checked: Result<(ExecutionID, User, Int, Bool), any Error>
            do {
                let user = try context.requestContext.requireUser()
                let id = try context.requestContext.parameters.require("id", as: ExecutionID.self)
                let query = QueryParameters(context.request)
                let after = try query.integer("after", default: 0, in: 0...Int(Int32.max))
                let batch = try query.flag("batch") ?? false
                _ = try await engine.execution(id: id, visibleTo: user)
                checked = .success((id, user, after, batch))
            } catch {
                checked = .failure(error)
            }
            let (spoke, clientSpoke) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
            try await withThrowingTaskGroup(of: Void.self) { group in
                // Reading notices a client that went away; its messages only mean "ready".
                group.addTask {
                    defer { clientSpoke.finish() }
                    for try await _ in inbound.messages(maxSize: 16 * 1024) { clientSpoke.yield() }
                }
                group.addTask {
                    // A refusal waits too: its frames are lost the same way as a stream's.
                    await Self.waitUntilClientIsReady(spoke)
                    switch checked {
                    case .success(let (id, user, after, batch)):
                        try await self.follow(executionId: id, user: user, after: after, batch: batch, outbound: outbound)
                    case .failure(let error): try await Self.refuse(Problem(error, logger: context.logger), outbound: outbound)
                    }
                }
                try await group.next()
                group.cancelAll()
            }
        }
    }

    /// Sends the problem as the only message, then closes with `4000 + status` (4401, 4404…), the
    /// problem's code as the reason. A refused upgrade could only answer a bare `400`, which
    /// browsers do not even show to scripts.
    static func refuse(_ problem: Problem, outbound: WebSocketOutboundWriter) async throws {
        try await outbound.write(.text(String(decoding: problem.json, as: UTF8.self)))
        try await outbound.close(.init(codeNumber: 4000 + Int(problem.status.code)), reason: problem.code.rawValue)
    }

    /// Frames sent right behind the `101` response can arrive in the same read as it, and some
    /// clients (among them the WebSocket client the CLI uses) lose them there and wait forever.
    /// So the stream starts when the client sends its first message, which proves it has taken
    /// the upgrade; a client that never sends anything gets the stream after a second.
    static func waitUntilClientIsReady(_ spoke: AsyncStream<Void>) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { for await _ in spoke { return } }
            group.addTask { try? await Task.sleep(for: clientReadyTimeout) }
            await group.next()
            group.cancelAll()
        }
    }

    static let clientReadyTimeout = Duration.seconds(1)

    private func follow(executionId id: ExecutionID, user: User, after: Int, batch: Bool, outbound: WebSocketOutboundWriter) async throws {
        let encoder = JSONEncoder.cronium
        func send(_ message: LogStreamMessage) async throws {
            try await outbound.write(.text(String(decoding: try encoder.encode(message), as: UTF8.self)))
        }
        for try await event in try await engine.followLog(executionId: id, visibleTo: user, after: after) {
            switch event {
            case .lines(let lines):
                if batch {
                    try await send(.lines(lines))
                } else {
                    for line in lines { try await send(.line(line)) }
                }
            case .finished(let status):
                try await send(LogStreamMessage(type: "finished", status: status))
                try await outbound.close(.normalClosure, reason: status.rawValue)
                return
            }
        }
    }
}

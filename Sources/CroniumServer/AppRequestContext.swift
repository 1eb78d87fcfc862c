import CroniumCore
import CroniumEngine
import Foundation
import Hummingbird
import HummingbirdWebSocket

/// Per-request state: who is calling. One context type serves HTTP and WebSocket routes, so the
/// same authentication middleware guards both.
struct AppRequestContext: RequestContext, WebSocketRequestContext {
    var coreContext: CoreRequestContextStorage
    let webSocket: WebSocketHandlerReference<Self>
    /// Set by ``AuthMiddleware``; nil only on the few public routes.
    var user: User?
    /// Why a WebSocket upgrade request has no user: it is refused after the upgrade, with the
    /// problem as a message (a refused upgrade could only answer a bare `400`).
    var refusal: Problem?
    /// The run whose own listener the request came in on (``RuntimeListeners``).
    var listenerExecution: ExecutionID?
    /// Set by ``RuntimeAuthMiddleware`` on `/runtime/v1`: the calling run.
    var runtimeSession: RuntimeSession?

    init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.webSocket = .init()
    }

    var requestDecoder: JSONDecoder { .cronium }
    var responseEncoder: JSONEncoder { .cronium }

    /// The caller, for the WebSocket route, whose refusal is sent after the upgrade.
    func requireUser() throws -> User {
        guard let user else { throw refusal ?? Problem.unauthorized }
        return user
    }
}

/// The context of every route behind authentication: the caller is known, so handlers take
/// `context.user` and cannot forget to ask (``AuthMiddleware`` has refused the request already;
/// this is the type-level half of that guard).
struct UserRequestContext: ChildRequestContext {
    var coreContext: CoreRequestContextStorage
    let user: User

    init(context: AppRequestContext) throws {
        coreContext = context.coreContext
        user = try context.requireUser()
    }

    var requestDecoder: JSONDecoder { .cronium }
    var responseEncoder: JSONEncoder { .cronium }
}

/// The context of the runtime API's routes: the calling run, known by ``RuntimeAuthMiddleware``.
struct RunRequestContext: ChildRequestContext {
    var coreContext: CoreRequestContextStorage
    let session: RuntimeSession

    init(context: AppRequestContext) throws {
        guard let session = context.runtimeSession else { throw Problem.unauthorized }
        coreContext = context.coreContext
        self.session = session
    }

    var requestDecoder: JSONDecoder { .cronium }
    var responseEncoder: JSONEncoder { .cronium }
}

extension JSONDecoder {
    /// ISO-8601 dates, with or without fractional seconds.
    public static var cronium: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let text = try decoder.singleValueContainer().decode(String.self)
            if let date = try? Date(text, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true)) { return date }
            if let date = try? Date(text, strategy: .iso8601) { return date }
            throw DecodingError.dataCorrupted(
                .init(codingPath: decoder.codingPath, debugDescription: "expected an ISO-8601 time such as 2027-03-28T02:30:00Z")
            )
        }
        return decoder
    }
}

extension JSONEncoder {
    /// ISO-8601 dates in UTC with milliseconds, so durations of short runs survive the round trip.
    public static var cronium: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true)))
        }
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }
}

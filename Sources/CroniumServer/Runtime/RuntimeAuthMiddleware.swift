import CroniumCore
import CroniumEngine
import Foundation
import HTTPTypes
import Hummingbird

/// Lets a request onto `/runtime/v1` only with the token of a run that is going on now, on that
/// run's own listener (or on the server's port), and within the run's allowance of calls.
/// API tokens and sessions do not work here, and runtime tokens work nowhere else.
struct RuntimeAuthMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let tokens: RuntimeTokens
    let sessions: RuntimeSessions

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let header = request.headers[.authorization], header.lowercased().hasPrefix("bearer ") else {
            throw Problem(.unauthorized, "send the run's token as 'Authorization: Bearer <CRONIUM_RUNTIME_TOKEN>'")
        }
        let token = String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces)
        if token.hasPrefix(Secrets.tokenPrefix) {
            throw Problem(
                .unauthorized,
                "an API token does not work on /runtime/v1: a script calls it with its run's CRONIUM_RUNTIME_TOKEN"
            )
        }
        guard let id = await tokens.execution(of: token) else {
            throw Problem(.unauthorized, "the runtime token is not valid, or it has expired")
        }
        if let listener = context.listenerExecution, listener != id {
            throw Problem(.forbidden, "this token belongs to another run (\(id)) than the one this socket serves (\(listener))")
        }
        guard let session = sessions.session(id) else {
            throw Problem(.unauthorized, "run \(id) has ended: its runtime token no longer works")
        }
        if let wait = session.admit() {
            throw CroniumError(
                .tooManyRequests,
                "run \(id) called the runtime API more than \(session.burst) times at once or \(session.callsPerSecond) a second; wait \(String(format: "%.2f", wait)) s and slow down",
                retryAfter: .seconds(wait)
            )
        }
        var context = context
        context.runtimeSession = session
        return try await next(request, context)
    }
}

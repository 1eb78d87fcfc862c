import CroniumCore
import CroniumEngine
import Foundation
import HTTPTypes
import Hummingbird

/// Resolves the caller from an API token (`Authorization: Bearer`, or `?token=` for WebSocket
/// clients that cannot set headers) or the browser's session cookie, and refuses everything else
/// except the public routes. Protection is the default: a new route is guarded without opting in.
struct AuthMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let accounts: Accounts

    static let sessionCookie = "cronium_session"
    /// The only routes reachable without credentials: probes, and signing in itself.
    static let publicPaths: Set<String> = ["/health", "/ready", "/live", "/api/v1/auth/login"]
    static let hookPrefix = "/api/v1/hooks/"

    /// A WebSocket upgrade request without a valid caller is let through with the refusal noted:
    /// its route sends the problem after the upgrade (``AppRequestContext/requireUser()``).
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        // The runtime API has its own guard (``RuntimeAuthMiddleware``), which takes runs' tokens only.
        if request.uri.path.hasPrefix("/runtime/") { return try await next(request, context) }
        // A webhook's key (and its signature) are its credentials; senders have no account.
        if request.uri.path.hasPrefix(Self.hookPrefix) { return try await next(request, context) }
        var context = context
        var refusal: Problem?
        if let secret = Self.credential(in: request) {
            if secret.isSession {
                context.user = try await accounts.user(session: secret.value)
            } else {
                context.user = try await accounts.user(apiToken: secret.value)
                if context.user == nil {
                    refusal = Problem(
                        .unauthorized,
                        secret.value.hasPrefix(Secrets.tokenPrefix)
                            ? "the API token is unknown or was revoked" : "this is not an API token (a run's runtime token works on /runtime/v1 only)"
                    )
                }
            }
        }
        if context.user == nil && !Self.publicPaths.contains(request.uri.path) {
            refusal = refusal ?? Problem.unauthorized
        }
        if let refusal {
            guard request.headers[.upgrade]?.lowercased() == "websocket" else { throw refusal }
            context.refusal = refusal
        }
        return try await next(request, context)
    }

    static func credential(in request: Request) -> (value: String, isSession: Bool)? {
        if let header = request.headers[.authorization], header.lowercased().hasPrefix("bearer ") {
            return (String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces), false)
        }
        if let token = request.uri.queryParameters.get("token") { return (token, false) }
        if let cookie = request.cookies[sessionCookie]?.value { return (cookie, true) }
        return nil
    }
}

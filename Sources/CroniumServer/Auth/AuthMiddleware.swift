import CroniumCore
import CroniumEngine
import Foundation
import HTTPTypes
import Hummingbird

/// Resolves the caller from an API token (`Authorization: Bearer`, or `?token=` for WebSocket
/// clients that cannot set headers) or the browser's session cookie, and refuses everything else
/// except the public routes. Protection is the default: a new route is guarded without opting in.
///
/// Cross-site request forgery: a write (any method but GET, HEAD, OPTIONS) that carries an
/// `Origin` other than the server's own is refused, and a write made with the session cookie must
/// carry the session's `X-CSRF-Token` (``Accounts/csrfToken(session:)``). A WebSocket opened with
/// the cookie from another origin is refused too. API tokens need neither: a page of another site
/// cannot make a browser send them.
struct AuthMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let accounts: Accounts

    static let sessionCookie = "cronium_session"
    /// The only routes reachable without credentials: probes, signing in itself, and asking
    /// whether one is signed in (besides the web UI's files, ``WebUI/isPublic(_:)``).
    static let publicPaths: Set<String> = ["/health", "/ready", "/live", "/api/v1/auth/login", "/api/v1/auth/session"]
    static let csrfHeader = HTTPField.Name("X-CSRF-Token")!
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
        let isWrite = ![.get, .head, .options].contains(request.method)
        let foreign = Self.isForeignOrigin(request)
        if isWrite && foreign {
            throw Problem(.csrfRefused, "a write from a page of another origin is refused")
        }
        // Signing in needs no credentials, and an old cookie sent along must not stand in its way.
        let credential = request.uri.path == "/api/v1/auth/login" ? nil : Self.credential(in: request)
        if let secret = credential {
            if secret.isSession {
                if foreign {
                    refusal = Problem(.csrfRefused, "a page of another origin may not use this session")
                } else {
                    context.user = try await accounts.user(session: secret.value)
                }
                if context.user != nil && isWrite && request.headers[Self.csrfHeader] != Accounts.csrfToken(session: secret.value) {
                    throw Problem(
                        .csrfRefused,
                        "a write signed in with the session cookie needs the session's X-CSRF-Token header (GET /api/v1/auth/session gives it)"
                    )
                }
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
        if context.user == nil && !Self.publicPaths.contains(request.uri.path) && !WebUI.isPublic(request.uri.path) {
            refusal = refusal ?? Problem.unauthorized
        }
        if let refusal {
            guard request.headers[.upgrade]?.lowercased() == "websocket" else { throw refusal }
            context.refusal = refusal
        }
        return try await next(request, context)
    }

    /// Whether the request names an `Origin` (browsers do on writes and WebSocket upgrades) that
    /// is not the host it was sent to. Behind a reverse proxy the proxy must pass the `Host` on.
    static func isForeignOrigin(_ request: Request) -> Bool {
        guard let origin = request.headers[.origin] else { return false }
        guard let host = request.head.authority, let url = URL(string: origin), let originHost = url.host else {
            return true
        }
        let bracketed = originHost.contains(":") ? "[\(originHost)]" : originHost
        let authority = url.port.map { "\(bracketed):\($0)" } ?? bracketed
        return authority.lowercased() != host.lowercased()
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

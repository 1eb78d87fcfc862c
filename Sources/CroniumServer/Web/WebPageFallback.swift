import Hummingbird

/// A browser that opens an address the server does not have (a mistyped or an old link) gets the
/// web UI's page, which says so in its own words and offers the way on, instead of a problem
/// document in JSON. Only navigations: a GET that asks for HTML, outside the API. The status stays
/// the refusal's (404, or 401 before the page sends an anonymous visitor to sign in).
struct WebPageFallback: RouterMiddleware {
    typealias Context = AppRequestContext
    let web: WebUI

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let problem as Problem where problem.status == .notFound || problem.status == .unauthorized {
            guard request.method == .get, request.headers[.accept]?.contains("text/html") == true,
                !request.uri.path.hasPrefix("/api/"), !request.uri.path.hasPrefix("/runtime/")
            else { throw problem }
            var response = web.page(request)
            response.status = problem.status
            return response
        }
    }
}

import CroniumCore
import CroniumStore
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// An RFC 9457 problem: every API error is one, as `application/problem+json`, with a message a
/// person can act on. Internal details (SQL, stack, secrets) never go into it.
/// Its `type` is `urn:cronium:problem:<CODE>` and `code` repeats the code on its own: programs
/// switch on it, people read `detail`.
struct Problem: Error, HTTPResponseError, Sendable {
    let status: HTTPResponse.Status
    let code: CroniumError.Code
    let detail: String
    /// For validation failures: each field and what is wrong with it.
    let errors: [FieldProblem]?

    init(_ status: HTTPResponse.Status, _ code: CroniumError.Code, _ detail: String, errors: [FieldProblem]? = nil) {
        self.status = status
        self.code = code
        self.detail = detail
        self.errors = errors
    }

    /// An engine's refusal, with the HTTP status its code stands for.
    init(_ error: CroniumError) {
        let status: HTTPResponse.Status =
            switch error.code {
            case .notFound: .notFound
            case .forbidden: .forbidden
            case .unauthorized: .unauthorized
            case .invalidInput: .unprocessableContent
            case .badRequest: .badRequest
            case .unavailable: .serviceUnavailable
            case .methodNotAllowed: .methodNotAllowed
            case .internalError: .internalServerError
            default: .conflict
            }
        self.init(status, error.code, error.message)
    }

    /// The wire form: `{"type","code","title","status","detail","errors"}`.
    struct Body: Codable {
        var type: String
        var code: String
        var title: String
        var status: Int
        var detail: String
        var errors: [FieldProblem]?
    }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        let body = try JSONEncoder.cronium.encode(
            Body(type: "urn:cronium:problem:\(code.rawValue)", code: code.rawValue, title: status.reasonPhrase, status: status.code, detail: detail, errors: errors))
        var headers: HTTPFields = [.contentType: "application/problem+json"]
        if status == .unauthorized { headers[.wwwAuthenticate] = "Bearer realm=\"cronium\"" }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }

    static let unauthorized = Problem(.unauthorized, .unauthorized, "sign in, or send an API token as 'Authorization: Bearer <token>'")
}

/// Turns every error a handler throws into a ``Problem``.
struct ProblemMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let problem as Problem {
            throw problem
        } catch let error as CroniumError {
            throw Problem(error)
        } catch let error as ValidationError {
            throw Problem(.unprocessableContent, .invalidInput, "the request has \(error.problems.count) problem(s): \(error)", errors: error.problems)
        } catch let error as DecodingError {
            throw Problem(.badRequest, .badRequest, Self.describe(error))
        } catch let error as HTTPError {
            throw Problem(error.status, error.status == .notFound ? .notFound : .badRequest, error.body ?? error.status.reasonPhrase)
        } catch {
            context.logger.error("request failed", metadata: ["error": "\(String(reflecting: error))"])
            throw Problem(.internalServerError, .internalError, "something went wrong on the server; the error was logged")
        }
    }

    /// A decoding error as a sentence naming the JSON field.
    static func describe(_ error: DecodingError) -> String {
        func path(_ context: DecodingError.Context) -> String {
            let path = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
            return path.isEmpty ? "the body" : path
        }
        switch error {
        case .typeMismatch(let type, let context): return "\(path(context)): expected \(type)"
        case .valueNotFound(_, let context): return "\(path(context)): is required"
        case .keyNotFound(let key, let context):
            let parent = path(context)
            return "\(parent == "the body" ? "" : parent + ".")\(key.stringValue): is required"
        case .dataCorrupted(let context):
            return context.codingPath.isEmpty ? "the body is not valid JSON" : "\(path(context)): \(context.debugDescription)"
        @unknown default: return "the body could not be read"
        }
    }
}

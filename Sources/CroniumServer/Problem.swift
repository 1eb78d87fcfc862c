import CroniumCore
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
    let code: CroniumError.Code
    let detail: String
    /// For validation failures: each field and what is wrong with it.
    let errors: [FieldProblem]?
    /// For `405`: the methods the path does answer.
    var allow: [String] = []
    /// For `429`: whole seconds to wait before asking again.
    var retryAfter: Int?

    var status: HTTPResponse.Status { HTTPResponse.Status(code) }

    init(_ code: CroniumError.Code, _ detail: String, errors: [FieldProblem]? = nil) {
        self.code = code
        self.detail = detail
        self.errors = errors
    }

    /// An engine's refusal, with the HTTP status its code stands for.
    init(_ error: CroniumError) {
        self.init(error.code, error.message)
        // Whole seconds, rounded up: a client that comes back at once would be refused again.
        retryAfter = error.retryAfter.map { max(1, Int(($0 / .seconds(1)).rounded(.up))) }
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

    /// The document, as sent in a response body or a WebSocket message.
    var json: Data {
        let body = Body(
            type: "urn:cronium:problem:\(code.rawValue)",
            code: code.rawValue,
            title: status.reasonPhrase,
            status: status.code,
            detail: detail,
            errors: errors
        )
        return (try? JSONEncoder.cronium.encode(body)) ?? Data()
    }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        let body = json
        var headers: HTTPFields = [.contentType: "application/problem+json"]
        if status == .unauthorized { headers[.wwwAuthenticate] = "Bearer realm=\"cronium\"" }
        if !allow.isEmpty { headers[.allow] = allow.joined(separator: ", ") }
        if let retryAfter { headers[.retryAfter] = String(retryAfter) }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }

    static let unauthorized = Problem(.unauthorized, "sign in, or send an API token as 'Authorization: Bearer <token>'")
}

extension Problem {
    /// Any error as the problem a client sees; unexpected ones are logged and said in general terms.
    init(_ error: any Error, logger: Logger) {
        switch error {
        case let problem as Problem:
            self = problem
        case let error as CroniumError:
            self.init(error)
        case let error as ValidationError:
            self.init(.invalidInput, "the request has \(error.problems.count) problem(s): \(error)", errors: error.problems)
        case let error as DecodingError:
            self.init(.badRequest, ProblemMiddleware.describe(error))
        case is NIOTooManyBytesError:
            self.init(
                .bodyTooLarge,
                "the body is larger than the \(Request.maxJSONBytes >> 20) MiB this server accepts; a script that large belongs in a file it reads"
            )
        case let error as HTTPError:
            let code: CroniumError.Code =
                switch error.status {
                case .notFound: .notFound
                case .contentTooLarge: .bodyTooLarge
                case .methodNotAllowed: .methodNotAllowed
                default: .badRequest
                }
            self.init(code, Self.plainer(error.body) ?? error.status.reasonPhrase)
        default:
            logger.error("request failed", metadata: ["error": "\(String(reflecting: error))"])
            self.init(.internalError, "something went wrong on the server; the error was logged")
        }
    }
}

/// Turns every error a handler throws into a ``Problem``, and a known path asked with a method
/// it does not answer into a `405` that lists the ones it does.
extension Problem {
    /// Hummingbird's words for a path parameter of the wrong kind name a Swift type
    /// (`Parameter 'abc' can not be converted to the expected type (Identifier<Execution>)`);
    /// said as a person would need it. Other messages are kept.
    static func plainer(_ message: String?) -> String? {
        guard let message, message.hasPrefix("Parameter '"), message.contains("can not be converted") else { return message }
        let value = message.dropFirst("Parameter '".count).prefix { $0 != "'" }
        return message.contains("Identifier<") ? "'\(value)' is not an id: ids are whole numbers" : "'\(value)' is not a value this path takes"
    }
}

struct ProblemMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let routes: RouteTable

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound && error.body == nil {
            let allowed = routes.methods(answering: request.uri.path)
            guard !allowed.isEmpty else { throw Problem(.notFound, "there is no \(request.uri.path) on this server") }
            var problem = Problem(
                .methodNotAllowed,
                "\(request.method.rawValue) is not allowed on \(request.uri.path); it answers \(allowed.joined(separator: ", "))"
            )
            problem.allow = allowed
            throw problem
        } catch {
            throw Problem(error, logger: context.logger)
        }
    }

    /// A decoding error as a sentence naming the JSON field.
    static func describe(_ error: DecodingError) -> String {
        func path(_ context: DecodingError.Context) -> String {
            // `events[0].name`, as the fields of validation problems are named.
            let path = context.codingPath.reduce(into: "") { path, key in
                if let index = key.intValue { path += "[\(index)]" } else { path += (path.isEmpty ? "" : ".") + key.stringValue }
            }
            return path.isEmpty ? "the body" : path
        }
        switch error {
        case .typeMismatch(let type, let context):
            let expected = "expected \(jsonName(of: type))"
            return context.codingPath.isEmpty ? "\(expected) at the top level" : "\(path(context)): \(expected)"
        case .valueNotFound(_, let context): return "\(path(context)): is required"
        case .keyNotFound(let key, let context):
            let parent = path(context)
            return "\(parent == "the body" ? "" : parent + ".")\(key.stringValue): is required"
        case .dataCorrupted(let context):
            return context.codingPath.isEmpty ? "the body is not valid JSON" : "\(path(context)): \(context.debugDescription)"
        @unknown default: return "the body could not be read"
        }
    }

    /// What a client must send, in JSON's words rather than Swift's (`Dictionary<String, Any>` is
    /// "an object").
    static func jsonName(of type: Any.Type) -> String {
        let name = String(describing: type)
        if name.hasPrefix("Dictionary") { return "an object" }
        if name.hasPrefix("Array") { return "an array" }
        switch name {
        case "String": return "a string"
        case "Bool": return "true or false"
        case "Double", "Float": return "a number"
        case let integer where integer.hasPrefix("Int") || integer.hasPrefix("UInt"): return "a whole number"
        default: return "another kind of value"
        }
    }
}

extension HTTPResponse.Status {
    /// The one place a problem code gets its HTTP status: exhaustive, so a new code needs one.
    init(_ code: CroniumError.Code) {
        self =
            switch code {
            case .notFound: .notFound
            case .forbidden, .csrfRefused: .forbidden
            case .unauthorized: .unauthorized
            case .invalidInput: .unprocessableContent
            case .badRequest: .badRequest
            case .bodyTooLarge: .contentTooLarge
            case .methodNotAllowed: .methodNotAllowed
            case .tooManyRequests: .tooManyRequests
            case .eventArchived, .executionsUsedUp, .executionEnded, .conflict, .hostKeyChanged, .signatureReplayed, .notAccepting: .conflict
            case .unavailable: .serviceUnavailable
            case .remoteFailed: .badGateway
            // Not a 5xx: a helper that retries those would send the message twice.
            case .deliveryFailed: .init(code: 424, reasonPhrase: "Failed Dependency")
            case .internalError: .internalServerError
            }
    }
}

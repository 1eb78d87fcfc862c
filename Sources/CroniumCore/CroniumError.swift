/// A refusal a caller can act on: a stable code for programs (the API's problem `type` and `code`
/// carry it) and a sentence for people.
public struct CroniumError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A closed set: each code has its HTTP status in one exhaustive switch (the server's
    /// `HTTPResponse.Status(_:)`), so a new code cannot reach a client without one.
    public enum Code: String, CaseIterable, Hashable, Sendable, CustomStringConvertible {
        /// The thing does not exist, or the caller may not see it (the two are not told apart).
        case notFound = "NOT_FOUND"
        /// The caller's role does not allow this.
        case forbidden = "FORBIDDEN"
        /// A write made with a browser session's cookie came without the session's
        /// `X-CSRF-Token` (or from a page of another origin).
        case csrfRefused = "CSRF_REFUSED"
        /// Nobody is signed in, or the credentials are wrong.
        case unauthorized = "UNAUTHORIZED"
        /// Fields of the request are wrong; the problem lists each.
        case invalidInput = "INVALID_INPUT"
        /// The request could not be read (not JSON, wrong types).
        case badRequest = "BAD_REQUEST"
        /// The request's body is larger than the server accepts.
        case bodyTooLarge = "BODY_TOO_LARGE"
        /// An archived event was asked to run.
        case eventArchived = "EVENT_ARCHIVED"
        /// The event has used all of its `maxExecutions`.
        case executionsUsedUp = "EXECUTIONS_USED_UP"
        /// The run had already ended.
        case executionEnded = "EXECUTION_ENDED"
        /// The change conflicts with what is stored (a name taken, a row changed meanwhile).
        case conflict = "CONFLICT"
        /// The server is starting or its database does not answer.
        case unavailable = "UNAVAILABLE"
        /// The path exists but not with this method.
        case methodNotAllowed = "METHOD_NOT_ALLOWED"
        /// A run called its runtime API faster than its allowance, or its message would wait too long
        /// for its tool's turn; `Retry-After` says when to go on.
        case tooManyRequests = "TOO_MANY_REQUESTS"
        /// A remote server offered a key other than the pinned one; the message names both.
        case hostKeyChanged = "HOST_KEY_CHANGED"
        /// A remote server could not be reached or logged in to; the message says why.
        case remoteFailed = "REMOTE_FAILED"
        /// A webhook delivery's signature was accepted before: a replay.
        case signatureReplayed = "SIGNATURE_REPLAYED"
        /// A webhook's event or workflow does not take deliveries now (paused, archived, a draft, or
        /// a run going under the overlap policy `skip`); the message says which.
        case notAccepting = "NOT_ACCEPTING"
        /// A message sent through a tool was not taken by the far end; the message says what it answered.
        case deliveryFailed = "DELIVERY_FAILED"
        /// Something failed inside the server; details are in its log, never in the answer.
        case internalError = "INTERNAL"

        public var description: String { rawValue }
    }

    public var code: Code
    public var message: String
    /// For ``Code/tooManyRequests``: when to ask again (the answer's `Retry-After`).
    public var retryAfter: Duration?

    public init(_ code: Code, _ message: String, retryAfter: Duration? = nil) {
        self.code = code
        self.message = message
        self.retryAfter = retryAfter
    }

    public var description: String { message }

    public static func notFound(_ what: String) -> CroniumError { CroniumError(.notFound, "\(what) does not exist, or you may not see it") }
    public static let forbidden = CroniumError(.forbidden, "your role does not allow this")
}

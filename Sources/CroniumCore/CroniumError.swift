/// A refusal a caller can act on: a stable code for programs (the API's problem `type` and `code`
/// carry it) and a sentence for people. Like postgres-nio's errors, one struct whose code is an
/// open set of constants, so adding a code breaks nobody's `switch`.
public struct CroniumError: Error, Sendable, Equatable, CustomStringConvertible {
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// The thing does not exist, or the caller may not see it (the two are not told apart).
        public static let notFound = Code(rawValue: "NOT_FOUND")
        /// The caller's role does not allow this.
        public static let forbidden = Code(rawValue: "FORBIDDEN")
        /// Nobody is signed in, or the credentials are wrong.
        public static let unauthorized = Code(rawValue: "UNAUTHORIZED")
        /// Fields of the request are wrong; the problem lists each.
        public static let invalidInput = Code(rawValue: "INVALID_INPUT")
        /// The request could not be read (not JSON, wrong types).
        public static let badRequest = Code(rawValue: "BAD_REQUEST")
        /// The request's body is larger than the server accepts.
        public static let bodyTooLarge = Code(rawValue: "BODY_TOO_LARGE")
        /// An archived event was asked to run.
        public static let eventArchived = Code(rawValue: "EVENT_ARCHIVED")
        /// The event has used all of its `maxExecutions`.
        public static let executionsUsedUp = Code(rawValue: "EXECUTIONS_USED_UP")
        /// The run had already ended.
        public static let executionEnded = Code(rawValue: "EXECUTION_ENDED")
        /// The change conflicts with what is stored (a name taken, a row changed meanwhile).
        public static let conflict = Code(rawValue: "CONFLICT")
        /// The server is starting or its database does not answer.
        public static let unavailable = Code(rawValue: "UNAVAILABLE")
        /// The path exists but not with this method.
        public static let methodNotAllowed = Code(rawValue: "METHOD_NOT_ALLOWED")
        /// A run called its runtime API faster than its allowance; `Retry-After` says when to go on.
        public static let tooManyRequests = Code(rawValue: "TOO_MANY_REQUESTS")
        /// A remote server's host key is not pinned yet; the message names the key it offers.
        public static let hostKeyNotPinned = Code(rawValue: "HOST_KEY_NOT_PINNED")
        /// A remote server offered a key other than the pinned one; the message names both.
        public static let hostKeyChanged = Code(rawValue: "HOST_KEY_CHANGED")
        /// A remote server could not be reached or logged in to; the message says why.
        public static let remoteFailed = Code(rawValue: "REMOTE_FAILED")
        /// A message sent through a tool was not taken by the far end; the message says what it answered.
        public static let deliveryFailed = Code(rawValue: "DELIVERY_FAILED")
        /// Something failed inside the server; details are in its log, never in the answer.
        public static let internalError = Code(rawValue: "INTERNAL")
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }

    public static func notFound(_ what: String) -> CroniumError { CroniumError(.notFound, "\(what) does not exist, or you may not see it") }
    public static let forbidden = CroniumError(.forbidden, "your role does not allow this")
}

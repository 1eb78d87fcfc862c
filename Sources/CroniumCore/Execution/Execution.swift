import Foundation

public enum ExecutionStatus: String, Codable, Sendable, CaseIterable {
    case pending = "PENDING"
    case running = "RUNNING"
    case success = "SUCCESS"
    case failure = "FAILURE"
    case timeout = "TIMEOUT"
    case cancelled = "CANCELLED"
    /// Reserved for runs on several servers where only some succeed.
    case partial = "PARTIAL"

    public var isFinal: Bool { self != .pending && self != .running }
}

/// What asked for a run; kept on the execution so the history explains itself.
public enum ExecutionTrigger: String, Codable, Sendable, CaseIterable {
    case manual = "MANUAL"
    case schedule = "SCHEDULE"
    case retry = "RETRY"
    /// Another event's run set it off (its ``EventAction``).
    case action = "ACTION"
    /// A node of a workflow run.
    case workflow = "WORKFLOW"
    /// A delivery to the event's incoming webhook.
    case webhook = "WEBHOOK"
}

/// Why a run did not succeed, as a stable code a program can act on (the message says it to a
/// person). Codes are never renamed; new ones may be added.
public enum ExecutionErrorCode: String, Codable, Sendable, CaseIterable {
    /// The script exited with a status other than 0.
    case exitStatus = "EXIT_STATUS"
    /// A signal ended the script (not Cronium stopping it).
    case killedBySignal = "KILLED_BY_SIGNAL"
    /// The run's processes used more memory than its limit and the kernel ended them.
    case outOfMemory = "OUT_OF_MEMORY"
    /// The run tried to have more processes than its limit.
    case tooManyProcesses = "TOO_MANY_PROCESSES"
    /// The run was still going at its deadline (`timeoutValue`/`timeoutUnit`) and was stopped.
    case timedOut = "TIMED_OUT"
    /// Someone cancelled the run, the event was deleted, a newer run replaced it, or the server shut down.
    case cancelled = "CANCELLED"
    /// The server stopped (or crashed) while the run was in progress.
    case interrupted = "INTERRUPTED"
    /// What the run needs could not be set up: its work directory, sandbox, limits, interpreter.
    case startFailed = "START_FAILED"
    /// This server has no executor for the event's type at its run location.
    case unsupported = "UNSUPPORTED"
    /// An HTTP request event got a response with status 400 or more.
    case httpStatus = "HTTP_STATUS"
    /// An HTTP request event got no response (connection refused, DNS, TLS); or a tool action's
    /// SMTP server could not be talked to.
    case requestFailed = "REQUEST_FAILED"
    /// A `TOOL_ACTION` email: the SMTP server refused the login, a recipient or the message.
    case messageRefused = "MESSAGE_REFUSED"
    /// The SSH connection to a `REMOTE` run's server broke (or never came up) while it ran; the
    /// runner on the server stops the script when its session ends.
    case connectionLost = "CONNECTION_LOST"
}

/// Why a run did not succeed: a code for programs, a sentence for people.
public struct ExecutionError: Sendable, Equatable, Error, CustomStringConvertible {
    public var code: ExecutionErrorCode
    public var message: String

    public init(_ code: ExecutionErrorCode, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}

/// One run of an event, recorded before anything runs and finished in one write.
public struct Execution: Codable, Sendable, Equatable, Identifiable {
    public var id: ExecutionID
    public var eventId: EventID
    public var status: ExecutionStatus
    public var trigger: ExecutionTrigger
    /// 1 for the first try; a retry is a new execution with the next attempt number.
    public var attempt: Int
    /// The schedule occurrence this run serves, when a schedule started it.
    public var scheduledFor: Date?
    public var createdAt: Date
    public var startedAt: Date?
    public var finishedAt: Date?
    public var exitCode: Int?
    /// The result a person reads first: an HTTP response body (capped), or the reason for a failure.
    public var output: String?
    public var error: String?
    public var errorCode: ExecutionErrorCode?
    /// The result the script set with its `output()` helper: what a run it triggers gets as input.
    public var outputValue: JSONValue?
    /// The verdict the script set for conditional actions (runtime helpers).
    public var condition: Bool?
    public var logBytes: Int
    public var logDroppedBytes: Int
    /// When the retention policy removed the run's log (one system line says so in its place).
    public var logsRemovedAt: Date? = nil
    public var triggeredBy: UserID?
    /// What the run was started with (its `input()` helper), when it was given something.
    public var input: JSONValue?
    /// The run whose action started this one (trigger `ACTION`), and how many such links lead here.
    public var parentExecutionId: ExecutionID?
    public var chainDepth: Int?
    /// The actions this run's end set off; filled when one run is asked for.
    public var actions: [ActionFiring]?
    /// A `REMOTE` run is made of parts, one per server, each an execution with its own log and
    /// status: a part names the run it belongs to and its server.
    public var partOf: ExecutionID?
    public var server: String?
    /// The parts of a `REMOTE` run; filled when one run is asked for.
    public var parts: [Execution]?
    /// The messages sent about this run (its `SEND_MESSAGE` actions); filled when one run is asked for.
    public var deliveries: [Delivery]?
    /// A node's run: the workflow run it belongs to, and the node's key.
    public var workflowRunId: WorkflowRunID?
    public var workflowNode: String?

    public init(
        id: ExecutionID,
        eventId: EventID,
        status: ExecutionStatus,
        trigger: ExecutionTrigger,
        attempt: Int,
        scheduledFor: Date? = nil,
        createdAt: Date,
        startedAt: Date? = nil,
        finishedAt: Date? = nil,
        exitCode: Int? = nil,
        output: String? = nil,
        error: String? = nil,
        errorCode: ExecutionErrorCode? = nil,
        outputValue: JSONValue? = nil,
        condition: Bool? = nil,
        logBytes: Int,
        logDroppedBytes: Int,
        triggeredBy: UserID? = nil,
        input: JSONValue? = nil,
        parentExecutionId: ExecutionID? = nil,
        chainDepth: Int? = nil,
        partOf: ExecutionID? = nil,
        server: String? = nil,
        workflowRunId: WorkflowRunID? = nil,
        workflowNode: String? = nil
    ) {
        self.workflowRunId = workflowRunId
        self.workflowNode = workflowNode
        self.partOf = partOf
        self.server = server
        self.parentExecutionId = parentExecutionId
        self.chainDepth = chainDepth
        self.input = input
        self.id = id
        self.eventId = eventId
        self.status = status
        self.trigger = trigger
        self.attempt = attempt
        self.scheduledFor = scheduledFor
        self.createdAt = createdAt
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.exitCode = exitCode
        self.output = output
        self.error = error
        self.errorCode = errorCode
        self.outputValue = outputValue
        self.condition = condition
        self.logBytes = logBytes
        self.logDroppedBytes = logDroppedBytes
        self.triggeredBy = triggeredBy
    }

    public var durationMs: Int? {
        guard let startedAt, let finishedAt else { return nil }
        return Int((finishedAt.timeIntervalSince(startedAt) * 1000).rounded())
    }
}

/// How a run ended. An executor reports status, exit code and output; the engine adds the
/// deadline's and a cancel's verdict; runtime helpers will fill the output value and condition.
public struct ExecutionOutcome: Sendable, Equatable {
    public var status: ExecutionStatus
    public var exitCode: Int?
    /// The result a person reads first (an HTTP response body, capped).
    public var output: String?
    public var error: ExecutionError?
    /// The run's result for whatever follows it (JSON text), set by the script through its helper.
    public var outputValue: String?
    /// The run's verdict for conditional actions, set by the script through its helper.
    public var condition: Bool?

    public init(
        status: ExecutionStatus,
        exitCode: Int? = nil,
        output: String? = nil,
        error: ExecutionError? = nil,
        outputValue: String? = nil,
        condition: Bool? = nil
    ) {
        self.status = status
        self.exitCode = exitCode
        self.output = output
        self.error = error
        self.outputValue = outputValue
        self.condition = condition
    }

    public static let success = ExecutionOutcome(status: .success, exitCode: 0)

    /// A run that did not succeed for `code`'s reason.
    public static func failure(_ code: ExecutionErrorCode, _ message: String, exitCode: Int? = nil, status: ExecutionStatus = .failure)
        -> ExecutionOutcome
    {
        ExecutionOutcome(status: status, exitCode: exitCode, error: ExecutionError(code, message))
    }
}

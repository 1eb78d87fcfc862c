import Foundation

/// What happens after a run of an event has ended for good (after its last retry): another event
/// or a workflow runs with this run's output as its input, or a message goes out through a tool.
public struct EventAction: Codable, Sendable, Equatable {
    public var when: ActionCondition
    public var type: ActionType
    /// `RUN_EVENT`: the event to run. An export names it (`eventName`) instead.
    public var eventId: EventID?
    /// `RUN_EVENT` in a document: the event to run, by its name among the owner's events.
    public var eventName: String?
    /// `RUN_WORKFLOW`: the workflow to run (one of the owner's). A document names it (`workflowName`).
    public var workflowId: WorkflowID?
    public var workflowName: String?
    /// `SEND_MESSAGE`: the tool (by name), the subject and message (templates over the run); an
    /// email's recipients and HTML alternative (a template too).
    public var tool: String?
    public var to: [String]?
    public var subject: String?
    public var message: String?
    public var html: String?

    public init(
        when: ActionCondition,
        type: ActionType,
        eventId: EventID? = nil,
        eventName: String? = nil,
        workflowId: WorkflowID? = nil,
        workflowName: String? = nil,
        tool: String? = nil,
        to: [String]? = nil,
        subject: String? = nil,
        message: String? = nil,
        html: String? = nil
    ) {
        self.when = when
        self.type = type
        self.eventId = eventId
        self.eventName = eventName
        self.workflowId = workflowId
        self.workflowName = workflowName
        self.tool = tool
        self.to = to
        self.subject = subject
        self.message = message
        self.html = html
    }

    /// Actions fire in this order: `ALWAYS`, then `ON_SUCCESS` or `ON_FAILURE`, then `ON_CONDITION`.
    public func applies(to status: ExecutionStatus, condition: Bool?) -> Bool {
        when.holds(after: status, condition: condition)
    }

    /// The most actions one event may have.
    public static let maxPerEvent = 20
    /// How long a chain of runs that started each other may grow (a guard behind the check for
    /// cycles at save time, for chains that pass through other users' shared events).
    public static let maxChainDepth = 10
}

public enum ActionCondition: String, Sendable, ClosedSetCodable {
    case always = "ALWAYS"
    case onSuccess = "ON_SUCCESS"
    case onFailure = "ON_FAILURE"
    /// When the script called `set_condition(true)`.
    case onCondition = "ON_CONDITION"

    /// Whether a run that ended with `status` (and set `condition`) meets this condition: the
    /// rule of actions and of workflows' connections alike.
    public func holds(after status: ExecutionStatus, condition: Bool?) -> Bool {
        switch self {
        case .always: true
        case .onSuccess: status == .success
        // A run on servers that failed on some of them has failed, for whoever is told.
        case .onFailure: status == .failure || status == .timeout || status == .partial
        case .onCondition: condition == true
        }
    }

    /// The firing order.
    public var rank: Int {
        switch self {
        case .always: 0
        case .onSuccess, .onFailure: 1
        case .onCondition: 2
        }
    }
}

public enum ActionType: String, Sendable, ClosedSetCodable {
    case runEvent = "RUN_EVENT"
    case runWorkflow = "RUN_WORKFLOW"
    case sendMessage = "SEND_MESSAGE"
}

/// One action that a run's end set off, as recorded on the run.
public struct ActionFiring: Codable, Sendable, Equatable {
    public var position: Int
    public var when: ActionCondition
    public var type: ActionType
    public var targetEventId: EventID?
    /// The run it started (`RUN_EVENT`).
    public var executionId: ExecutionID?
    /// `RUN_WORKFLOW`: the workflow, and the run it started.
    public var targetWorkflowId: WorkflowID?
    public var workflowRunId: WorkflowRunID?
    public var status: ActionFiringStatus
    /// Why it failed, in words.
    public var error: String?
    public var firedAt: Date

    public init(
        position: Int,
        when: ActionCondition,
        type: ActionType,
        targetEventId: EventID?,
        executionId: ExecutionID?,
        targetWorkflowId: WorkflowID? = nil,
        workflowRunId: WorkflowRunID? = nil,
        status: ActionFiringStatus,
        error: String?,
        firedAt: Date
    ) {
        self.position = position
        self.when = when
        self.type = type
        self.targetEventId = targetEventId
        self.executionId = executionId
        self.targetWorkflowId = targetWorkflowId
        self.workflowRunId = workflowRunId
        self.status = status
        self.error = error
        self.firedAt = firedAt
    }
}

public enum ActionFiringStatus: String, Sendable, ClosedSetCodable {
    /// Done: the run was queued, or the message delivered.
    case fired = "FIRED"
    case failed = "FAILED"
    /// A message on its way (its delivery is being tried).
    case sending = "SENDING"
}

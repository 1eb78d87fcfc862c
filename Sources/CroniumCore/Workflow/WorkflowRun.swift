import Foundation

public typealias WorkflowRunID = Identifier<WorkflowRun>

/// One run of a workflow: the definition it started with (edits meanwhile do not change it),
/// each node's state, and how it ended.
public struct WorkflowRun: Codable, Sendable, Equatable {
    public var id: WorkflowRunID
    public var workflowId: WorkflowID
    public var status: WorkflowRunStatus
    public var trigger: WorkflowTrigger
    /// What the trigger passed; the roots' input.
    public var input: JSONValue?
    public var triggeredBy: UserID?
    public var createdAt: Date
    public var finishedAt: Date?
    /// Set when someone cancelled the run, with why.
    public var cancelReason: String?
    public var nodes: [WorkflowRunNode]

    public init(
        id: WorkflowRunID,
        workflowId: WorkflowID,
        status: WorkflowRunStatus,
        trigger: WorkflowTrigger,
        input: JSONValue?,
        triggeredBy: UserID?,
        createdAt: Date,
        finishedAt: Date? = nil,
        cancelReason: String? = nil,
        nodes: [WorkflowRunNode]
    ) {
        self.id = id
        self.workflowId = workflowId
        self.status = status
        self.trigger = trigger
        self.input = input
        self.triggeredBy = triggeredBy
        self.createdAt = createdAt
        self.finishedAt = finishedAt
        self.cancelReason = cancelReason
        self.nodes = nodes
    }
}

extension WorkflowRun {
    /// The run's decisions so far, rebuilt from its nodes' states over the definition it started with.
    public func progress(of definition: Workflow) -> WorkflowProgress {
        WorkflowProgress(
            graph: definition.graph,
            states: Dictionary(uniqueKeysWithValues: nodes.map { ($0.key, $0.state) }),
            cancelled: cancelReason != nil
        )
    }
}

/// Where a node's run stands in its workflow, for its script (`event()["workflow"]`).
public struct WorkflowPlace: Codable, Sendable, Equatable {
    public var id: WorkflowID
    public var name: String
    public var runId: WorkflowRunID
    public var node: String

    public init(id: WorkflowID, name: String, runId: WorkflowRunID, node: String) {
        self.id = id
        self.name = name
        self.runId = runId
        self.node = node
    }
}

/// One node of a run: where it stands, the execution that ran it, what it handed on.
public struct WorkflowRunNode: Codable, Sendable, Equatable {
    public var key: String
    public var state: NodeState
    /// The node's execution (its last try, when it was retried).
    public var executionId: ExecutionID?
    /// What it set with its `output` helper, handed to the nodes it leads to.
    public var output: JSONValue?
    public var startedAt: Date?
    public var finishedAt: Date?

    public init(
        key: String,
        state: NodeState,
        executionId: ExecutionID? = nil,
        output: JSONValue? = nil,
        startedAt: Date? = nil,
        finishedAt: Date? = nil
    ) {
        self.key = key
        self.state = state
        self.executionId = executionId
        self.output = output
        self.startedAt = startedAt
        self.finishedAt = finishedAt
    }

    private enum CodingKeys: String, CodingKey { case key, executionId, output, startedAt, finishedAt }

    /// One flat object: `{"key", "state", "status", "condition", "reason", "executionId", "output", …}`.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(key, forKey: .key)
        try container.encodeIfPresent(executionId, forKey: .executionId)
        try container.encodeIfPresent(output, forKey: .output)
        try container.encodeIfPresent(startedAt, forKey: .startedAt)
        try container.encodeIfPresent(finishedAt, forKey: .finishedAt)
        try state.encode(to: encoder)
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        key = try container.decode(String.self, forKey: .key)
        executionId = try container.decodeIfPresent(ExecutionID.self, forKey: .executionId)
        output = try container.decodeIfPresent(JSONValue.self, forKey: .output)
        startedAt = try container.decodeIfPresent(Date.self, forKey: .startedAt)
        finishedAt = try container.decodeIfPresent(Date.self, forKey: .finishedAt)
        state = try NodeState(from: decoder)
    }
}

extension NodeState: Codable {
    private enum CodingKeys: String, CodingKey { case state, status, condition, reason }
    private enum Name: String, Codable { case PENDING, RUNNING, ENDED, SKIPPED, CANCELLED }

    /// `{"state": "ENDED", "status": "FAILURE", "condition": true}`, `{"state": "SKIPPED", "reason": "…"}`.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .pending: try container.encode(Name.PENDING, forKey: .state)
        case .running: try container.encode(Name.RUNNING, forKey: .state)
        case .ended(let status, let condition):
            try container.encode(Name.ENDED, forKey: .state)
            try container.encode(status, forKey: .status)
            try container.encodeIfPresent(condition, forKey: .condition)
        case .skipped(let reason):
            try container.encode(Name.SKIPPED, forKey: .state)
            try container.encode(reason, forKey: .reason)
        case .cancelled: try container.encode(Name.CANCELLED, forKey: .state)
        }
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        switch try container.decode(Name.self, forKey: .state) {
        case .PENDING: self = .pending
        case .RUNNING: self = .running
        case .ENDED:
            self = .ended(
                try container.decode(ExecutionStatus.self, forKey: .status),
                condition: try container.decodeIfPresent(Bool.self, forKey: .condition)
            )
        case .SKIPPED: self = .skipped(reason: try container.decode(String.self, forKey: .reason))
        case .CANCELLED: self = .cancelled
        }
    }
}

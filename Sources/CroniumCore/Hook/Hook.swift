import Foundation

/// An event's or a workflow's incoming webhook, as whoever may change its target sees it
/// (`cronium workflow hook show`): where to send (`POST {path}`), and the secret to sign with.
/// The key in the path is a secret too; rotating the hook replaces both.
public struct Hook: Codable, Sendable, Equatable {
    public var eventId: EventID?
    public var workflowId: WorkflowID?
    /// `/api/v1/hooks/{key}`.
    public var path: String
    public var key: String
    /// The HMAC-SHA256 key of `X-Cronium-Signature`.
    public var signingSecret: String
    /// Whether a delivery must be signed; a signed one is checked either way.
    public var signed: Bool
    public var createdAt: Date

    public init(target: RunTarget, key: String, signingSecret: String, signed: Bool, createdAt: Date) {
        switch target {
        case .event(let id): eventId = id
        case .workflow(let id): workflowId = id
        }
        path = "/api/v1/hooks/\(key)"
        self.key = key
        self.signingSecret = signingSecret
        self.signed = signed
        self.createdAt = createdAt
    }

    /// Deliveries signed more than this far from the server's time are refused (`X-Cronium-Timestamp`).
    public static let timestampTolerance: TimeInterval = 300
}

/// What a delivery started (`202` from `POST /api/v1/hooks/{key}`): an event's run, or a
/// workflow's run (`QUEUED` when its overlap policy `queue` put it behind the run going).
public struct HookDelivery: Codable, Sendable, Equatable {
    public var executionId: ExecutionID?
    public var workflowId: WorkflowID?
    public var workflowRunId: WorkflowRunID?
    public var status: String

    public init(executionId: ExecutionID? = nil, workflowId: WorkflowID? = nil, workflowRunId: WorkflowRunID? = nil, status: String) {
        self.executionId = executionId
        self.workflowId = workflowId
        self.workflowRunId = workflowRunId
        self.status = status
    }

    /// Where the run it started is read.
    public var location: String {
        if let executionId { return "/api/v1/executions/\(executionId)" }
        if let workflowId, let workflowRunId { return "/api/v1/workflows/\(workflowId)/runs/\(workflowRunId)" }
        return ""
    }
}

import Foundation

public typealias WorkflowID = Identifier<Workflow>

/// A graph of events: nodes that each run one event, and connections between them that say when
/// a node's end lets the next one run (the vocabulary of actions: `ALWAYS`, `ON_SUCCESS`,
/// `ON_FAILURE`, `ON_CONDITION`). Run by hand, on a schedule or by a webhook.
public struct Workflow: Codable, Sendable, Equatable {
    public var id: WorkflowID
    public var ownerId: UserID
    public var name: String
    public var description: String?
    public var status: WorkflowStatus
    public var trigger: WorkflowTrigger
    /// `SCHEDULE` workflows: when they run (the events' schedule model, with its policies).
    public var schedule: Schedule?
    /// What a scheduled fire or a webhook does while a run of the workflow is going; nil: `skip`,
    /// as for events. A run asked for by hand always starts. A schedule's own `overlap` is this.
    public var overlap: OverlapPolicy?
    public var nodes: [WorkflowNode]
    public var connections: [WorkflowConnection]
    public var createdAt: Date
    public var updatedAt: Date

    public init(
        id: WorkflowID,
        ownerId: UserID,
        name: String,
        description: String? = nil,
        status: WorkflowStatus = .active,
        trigger: WorkflowTrigger = .manual,
        schedule: Schedule? = nil,
        overlap: OverlapPolicy? = nil,
        nodes: [WorkflowNode],
        connections: [WorkflowConnection],
        createdAt: Date,
        updatedAt: Date
    ) {
        self.id = id
        self.ownerId = ownerId
        self.name = name
        self.description = description
        self.status = status
        self.trigger = trigger
        self.schedule = schedule
        self.overlap = overlap
        self.nodes = nodes
        self.connections = connections
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    public var graph: WorkflowGraph { WorkflowGraph(nodes: nodes, connections: connections) }

    public var effectiveOverlap: OverlapPolicy { overlap ?? .skip }

    /// Whether the scheduler fires it now.
    public var isScheduled: Bool { status == .active && trigger == .schedule && schedule != nil }

    /// Whether a change from `other` moves its timetable (it restarts from now).
    public func timetableDiffers(from other: Workflow) -> Bool {
        schedule != other.schedule || trigger != other.trigger || status != other.status
    }
}

public enum WorkflowStatus: String, Sendable, ClosedSetCodable {
    case active = "ACTIVE"
    case paused = "PAUSED"
    /// Saved but not yet meant to run: no schedule, no webhook.
    case draft = "DRAFT"
    case archived = "ARCHIVED"
}

public enum WorkflowTrigger: String, Sendable, ClosedSetCodable {
    case manual = "MANUAL"
    case schedule = "SCHEDULE"
    case webhook = "WEBHOOK"
    /// A run started by an event's `RUN_WORKFLOW` action (a run's trigger only).
    case action = "ACTION"
}

/// How a node with several incoming connections decides: it runs when any of them holds (the
/// default), or only when all of them hold.
public enum NodeJoin: String, Sendable, ClosedSetCodable {
    case any
    case all
}

/// One step of a workflow: an event, run under a key unique in the workflow, with what the node
/// changes for its runs.
public struct WorkflowNode: Codable, Sendable, Equatable {
    /// `check`, `cleanup`: letters, digits, `-` and `_`, starting with a letter.
    public var key: String
    /// The event the node runs. A document names it instead (``eventName``).
    public var eventId: EventID?
    public var eventName: String?
    /// Nil: `any`.
    public var join: NodeJoin?
    /// JSON merged over what arrives (an object's keys over the input's; anything else replaces it).
    public var input: JSONValue?
    /// Placement, timeout and retries for this node's runs, over the event's.
    public var runLocation: RunLocation?
    public var servers: [String]?
    public var serverTag: String?
    public var image: String?
    public var timeoutSeconds: Int?
    public var retries: Int?

    public init(
        key: String,
        eventId: EventID? = nil,
        eventName: String? = nil,
        join: NodeJoin? = nil,
        input: JSONValue? = nil,
        runLocation: RunLocation? = nil,
        servers: [String]? = nil,
        serverTag: String? = nil,
        image: String? = nil,
        timeoutSeconds: Int? = nil,
        retries: Int? = nil
    ) {
        self.key = key
        self.eventId = eventId
        self.eventName = eventName
        self.join = join
        self.input = input
        self.runLocation = runLocation
        self.servers = servers
        self.serverTag = serverTag
        self.image = image
        self.timeoutSeconds = timeoutSeconds
        self.retries = retries
    }

    public var effectiveJoin: NodeJoin { join ?? .any }
}

/// `from`'s end lets `to` run when `when` holds for it.
public struct WorkflowConnection: Codable, Sendable, Equatable, Hashable {
    public var from: String
    public var to: String
    public var when: ActionCondition

    public init(from: String, to: String, when: ActionCondition = .onSuccess) {
        self.from = from
        self.to = to
        self.when = when
    }

    private enum CodingKeys: String, CodingKey { case from, to, when }

    /// `when` may be left out: `ON_SUCCESS`.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        from = try container.decode(String.self, forKey: .from)
        to = try container.decode(String.self, forKey: .to)
        when = try container.decodeIfPresent(ActionCondition.self, forKey: .when) ?? .onSuccess
    }

    /// `check -[ON_SUCCESS]-> cleanup`, for reasons and messages.
    public var label: String { "\(from) -[\(when.rawValue)]-> \(to)" }
}

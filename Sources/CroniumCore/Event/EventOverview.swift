import Foundation

/// An event as the API shows it: its own fields, and beside them when it fires next and how its
/// latest run went, so a list answers "is my job healthy?" without a request per event.
public struct EventOverview: Codable, Sendable, Equatable {
    public var event: Event
    /// The scheduler's next fire; null when the event does not fire (not ACTIVE, no schedule, a
    /// one-shot that fired).
    public var nextFireAt: Date?
    /// The newest run, whatever its state (a RUNNING one included); null before the first.
    public var lastExecution: ExecutionBrief?

    public init(event: Event, nextFireAt: Date?, lastExecution: ExecutionBrief?) {
        self.event = event
        self.nextFireAt = nextFireAt
        self.lastExecution = lastExecution
    }

    private enum Keys: String, CodingKey { case nextFireAt, lastExecution }

    /// One flat object: the event's fields and the added ones side by side.
    public func encode(to encoder: any Encoder) throws {
        try event.encode(to: encoder)
        var container = encoder.container(keyedBy: Keys.self)
        try container.encode(nextFireAt, forKey: .nextFireAt)
        try container.encode(lastExecution, forKey: .lastExecution)
    }

    public init(from decoder: any Decoder) throws {
        event = try Event(from: decoder)
        let container = try decoder.container(keyedBy: Keys.self)
        nextFireAt = try container.decodeIfPresent(Date.self, forKey: .nextFireAt)
        lastExecution = try container.decodeIfPresent(ExecutionBrief.self, forKey: .lastExecution)
    }
}

/// How a run went, in brief: enough for a list, with the id to ask for the rest.
public struct ExecutionBrief: Codable, Sendable, Equatable {
    public var id: ExecutionID
    public var status: ExecutionStatus
    public var trigger: ExecutionTrigger
    public var startedAt: Date?
    public var finishedAt: Date?
    public var exitCode: Int?
    public var errorCode: ExecutionErrorCode?
    /// What the script set with its `output()` and `setCondition()` helpers.
    public var outputValue: JSONValue?
    public var condition: Bool?

    public init(_ execution: Execution) {
        outputValue = execution.outputValue
        condition = execution.condition
        id = execution.id
        status = execution.status
        trigger = execution.trigger
        startedAt = execution.startedAt
        finishedAt = execution.finishedAt
        exitCode = execution.exitCode
        errorCode = execution.errorCode
    }
}

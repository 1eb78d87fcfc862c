/// The kinds of work an event runs. Raw values are the predecessor's stored strings, kept so exports stay compatible.
public enum EventType: String, Sendable, ClosedSetCodable {
    case bash = "BASH"
    case python = "PYTHON"
    case nodejs = "NODEJS"
    case httpRequest = "HTTP_REQUEST"
    /// A message sent through a tool (``ToolActionSpec``).
    case toolAction = "TOOL_ACTION"

    /// Script events carry source code in `content`; HTTP events carry an ``HTTPRequestSpec``,
    /// tool actions a ``ToolActionSpec``.
    public var isScript: Bool { self != .httpRequest && self != .toolAction }
}

public enum EventStatus: String, Sendable, ClosedSetCodable {
    case active = "ACTIVE"
    case paused = "PAUSED"
    case draft = "DRAFT"
    case archived = "ARCHIVED"
}

public enum TriggerType: String, Sendable, ClosedSetCodable {
    case manual = "MANUAL"
    case schedule = "SCHEDULE"
}

/// Where a run happens, which picks its executor before its language does. A server refuses an
/// event whose location it has no executor for.
public enum RunLocation: String, Sendable, ClosedSetCodable {
    /// On the server's machine, in the sandbox.
    case local = "LOCAL"
    /// In a container of the event's image.
    case container = "CONTAINER"
    /// On one or more servers reached over SSH.
    case remote = "REMOTE"
}

public enum TimeUnit: String, Sendable, ClosedSetCodable {
    case seconds = "SECONDS"
    case minutes = "MINUTES"
    case hours = "HOURS"
    case days = "DAYS"

    public var seconds: Int {
        switch self {
        case .seconds: 1
        case .minutes: 60
        case .hours: 3600
        case .days: 86400
        }
    }
}

import Foundation

/// Events, and workflows with the events they run, as a portable document, for keeping them in
/// git or moving them between servers: `GET /api/v1/events/export` and
/// `GET /api/v1/workflows/export` write it and `POST /api/v1/events/import` reads it. It holds no
/// ids, owners or counters: an import matches events and workflows by name, and nodes and
/// actions name what they run.
public struct EventDocument: Codable, Sendable, Equatable {
    public static let currentVersion = 1

    public var version: Int
    public var events: [EventInput]
    public var workflows: [WorkflowInput]?

    public init(events: [EventInput], workflows: [WorkflowInput]? = nil) {
        version = Self.currentVersion
        self.events = events
        self.workflows = workflows
    }

    private enum CodingKeys: String, CodingKey { case version, events, workflows }

    /// `version` may be left out of a document written by hand: it is the current one then; so
    /// may `events`, in a document of workflows whose events are there already.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        version = try container.decodeIfPresent(Int.self, forKey: .version) ?? Self.currentVersion
        workflows = try container.decodeIfPresent([WorkflowInput].self, forKey: .workflows)
        events =
            try workflows == nil
            ? container.decode([EventInput].self, forKey: .events) : container.decodeIfPresent([EventInput].self, forKey: .events) ?? []
    }
}

extension EventInput {
    /// The fields of `event` that differ from a new event's defaults, with its name, type and
    /// status always: what an import needs to make the same event again, and no more, so that
    /// a document in git changes only where an event did.
    public init(exporting event: Event) {
        let blank = Event.blank()
        func changed<T: Equatable>(_ field: KeyPath<Event, T>) -> T? {
            event[keyPath: field] == blank[keyPath: field] ? nil : event[keyPath: field]
        }
        self.init()
        name = event.name
        type = event.type
        status = event.status
        description = changed(\.description)
        content = changed(\.content)
        httpRequest = event.httpRequest
        toolAction = event.toolAction
        // A schedule brings its trigger along on import.
        triggerType = event.schedule != nil && event.triggerType == .schedule ? nil : changed(\.triggerType)
        schedule = event.schedule
        environment = changed(\.environment)
        variables = event.variables
        actions = event.actions
        timeoutValue = changed(\.timeoutValue)
        timeoutUnit = changed(\.timeoutUnit)
        retries = changed(\.retries)
        retryBackoffSeconds = changed(\.retryBackoffSeconds)
        maxExecutions = changed(\.maxExecutions)
        resetCounterOnActive = changed(\.resetCounterOnActive)
        tags = changed(\.tags)
        runLocation = changed(\.runLocation)
        image = event.image
        servers = event.servers
        serverTag = event.serverTag
        networkAccess = changed(\.networkAccess)
        limits = event.limits
        readOnlyPaths = event.readOnlyPaths
        shared = changed(\.shared)
        logCapBytes = changed(\.logCapBytes)
        retention = event.retention
    }
}

/// What an import did, or with `dryRun` would do, event by event.
public struct ImportReport: Codable, Sendable, Equatable {
    public struct Entry: Codable, Sendable, Equatable {
        /// Nil for an event a dry run would create.
        public var id: EventID?
        public var name: String

        public init(id: EventID?, name: String) {
            self.id = id
            self.name = name
        }
    }

    public var dryRun: Bool
    public var created: [Entry] = []
    public var updated: [Entry] = []
    public var unchanged: [Entry] = []
    /// The document's workflows, when it has some.
    public var workflows: Workflows?

    public struct Workflows: Codable, Sendable, Equatable {
        public struct Entry: Codable, Sendable, Equatable {
            /// Nil for a workflow a dry run would create.
            public var id: WorkflowID?
            public var name: String

            public init(id: WorkflowID?, name: String) {
                self.id = id
                self.name = name
            }
        }

        public var created: [Entry] = []
        public var updated: [Entry] = []
        public var unchanged: [Entry] = []

        public init() {}
    }

    public init(dryRun: Bool) { self.dryRun = dryRun }
}

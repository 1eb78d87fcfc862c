import Foundation

/// Events as a portable document, for keeping them in git or moving them between servers:
/// `GET /api/v1/events/export` writes it and `POST /api/v1/events/import` reads it. It holds no
/// ids, owners or counters: an import matches events by name.
public struct EventDocument: Codable, Sendable, Equatable {
    public static let currentVersion = 1

    public var version: Int
    public var events: [EventInput]

    public init(events: [EventInput]) {
        version = Self.currentVersion
        self.events = events
    }

    private enum CodingKeys: String, CodingKey { case version, events }

    /// `version` may be left out of a document written by hand: it is the current one then.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        version = try container.decodeIfPresent(Int.self, forKey: .version) ?? Self.currentVersion
        events = try container.decode([EventInput].self, forKey: .events)
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

    public init(dryRun: Bool) { self.dryRun = dryRun }
}

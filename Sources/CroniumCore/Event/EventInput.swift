import Foundation

/// The fields a client may send to create or change an event. Every field is optional so one type
/// serves both create (required fields checked) and partial update (only sent fields change).
public struct EventInput: Codable, Sendable, Equatable {
    public var name: String?
    public var description: String?
    public var type: EventType?
    public var content: String?
    public var httpRequest: HTTPRequestSpec?
    public var toolAction: ToolActionSpec?
    public var status: EventStatus?
    public var triggerType: TriggerType?
    public var schedule: Schedule?
    public var environment: [String: String]?
    public var variables: [String: String]?
    public var actions: [EventAction]?
    public var timeoutValue: Int?
    public var timeoutUnit: TimeUnit?
    public var retries: Int?
    public var retryBackoffSeconds: Int?
    public var maxExecutions: Int?
    public var resetCounterOnActive: Bool?
    public var tags: [String]?
    public var runLocation: RunLocation?
    public var image: String?
    public var servers: [String]?
    public var serverTag: String?
    public var networkAccess: Bool?
    public var limits: RunLimits?
    public var readOnlyPaths: [String]?
    public var shared: Bool?
    public var logCapBytes: Int?
    public var retention: Retention?

    public init() {}
}

extension Event {
    /// Builds a new event from `input`, or throws every problem found.
    public static func create(from input: EventInput, ownerId: UserID, now: Date) throws(ValidationError) -> Event {
        var missing: [FieldProblem] = []
        if input.name == nil { missing.append(.init(field: "name", message: "is required")) }
        if input.type == nil { missing.append(.init(field: "type", message: "is required: one of \(EventType.validNames)")) }
        try ValidationError.check(missing)
        var event = blank(ownerId: ownerId, now: now)
        try event.apply(input, now: now)
        return event
    }

    /// An event with every field at its default: what a field left out of a new event becomes.
    public static func blank(ownerId: UserID = 0, now: Date = Date(timeIntervalSince1970: 0)) -> Event {
        Event(
            id: 0,
            ownerId: ownerId,
            name: "",
            description: "",
            type: .bash,
            content: "",
            httpRequest: nil,
            status: .draft,
            triggerType: .manual,
            schedule: nil,
            environment: [:],
            timeoutValue: 30,
            timeoutUnit: .minutes,
            retries: 0,
            retryBackoffSeconds: 5,
            maxExecutions: 0,
            executionCount: 0,
            resetCounterOnActive: false,
            tags: [],
            runLocation: .local,
            networkAccess: true,
            limits: nil,
            readOnlyPaths: nil,
            shared: false,
            logCapBytes: Event.defaultLogCapBytes,
            createdAt: now,
            updatedAt: now
        )
    }

    /// Applies the fields present in `input`; on any problem the event is left as it was.
    public mutating func apply(_ input: EventInput, now: Date) throws(ValidationError) {
        var next = self
        if let v = input.name { next.name = v.trimmingCharacters(in: .whitespacesAndNewlines) }
        if let v = input.description { next.description = v }
        if let v = input.type { next.type = v }
        if let v = input.content { next.content = v }
        if let v = input.httpRequest { next.httpRequest = v }
        if let v = input.toolAction { next.toolAction = v }
        if let v = input.triggerType { next.triggerType = v }
        // A schedule sent without a trigger is meant to be run on: the trigger follows it. Sent
        // with MANUAL, it would be stored and never used, so that is refused (in `validate`).
        if input.schedule != nil, input.triggerType == nil { next.triggerType = .schedule }
        if let v = input.schedule { next.schedule = v }
        if let v = input.environment { next.environment = v }
        if let v = input.variables { next.variables = v.isEmpty ? nil : v }
        if let v = input.actions { next.actions = v.isEmpty ? nil : v }
        if let v = input.timeoutValue { next.timeoutValue = v }
        if let v = input.timeoutUnit { next.timeoutUnit = v }
        if let v = input.retries { next.retries = v }
        if let v = input.retryBackoffSeconds { next.retryBackoffSeconds = v }
        if let v = input.maxExecutions { next.maxExecutions = v }
        if let v = input.resetCounterOnActive { next.resetCounterOnActive = v }
        if let v = input.tags { next.tags = v }
        // Containers get no network unless asked: moving an event into one switches it off.
        if input.runLocation == .container, next.runLocation != .container, input.networkAccess == nil { next.networkAccess = false }
        if let v = input.runLocation { next.runLocation = v }
        // An empty image clears it.
        if let v = input.image { next.image = v.isEmpty ? nil : v }
        // An empty list or tag clears it.
        if let v = input.servers { next.servers = v.isEmpty ? nil : v }
        if let v = input.serverTag { next.serverTag = v.isEmpty ? nil : v }
        if let v = input.networkAccess { next.networkAccess = v }
        // An empty object or list clears the override.
        if let v = input.limits { next.limits = v == RunLimits() ? nil : v }
        if let v = input.readOnlyPaths { next.readOnlyPaths = v.isEmpty ? nil : v }
        if let v = input.shared { next.shared = v }
        if let v = input.logCapBytes { next.logCapBytes = v }
        // An empty object clears the override.
        if let v = input.retention { next.retention = v == Retention() ? nil : v }
        if let v = input.status {
            // Re-activation may start the execution budget afresh, as the event asks.
            if v == .active, next.status != .active, next.resetCounterOnActive { next.executionCount = 0 }
            next.status = v
        }
        var problems: [FieldProblem] = []
        if input.schedule != nil, input.triggerType == .manual {
            problems.append(
                .init(field: "schedule", message: "a MANUAL event does not use a schedule; send triggerType SCHEDULE with it, or leave schedule out")
            )
        }
        do { try next.validate() } catch { problems = error.problems + problems }
        try ValidationError.check(problems)
        next.updatedAt = now
        self = next
    }

    /// Checks the whole event, naming each field that is wrong.
    public func validate() throws(ValidationError) {
        var p: [FieldProblem] = []
        if name.isEmpty { p.append(.init(field: "name", message: "must not be empty")) }
        if name.count > 255 { p.append(.init(field: "name", message: "must be at most 255 characters")) }
        if type.isScript, content.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            p.append(.init(field: "content", message: "a \(type.rawValue) event needs a script"))
        }
        if type == .httpRequest {
            if let httpRequest {
                p += httpRequest.problems(field: "httpRequest")
            } else {
                p.append(.init(field: "httpRequest", message: "an HTTP_REQUEST event needs {\"method\", \"url\"}"))
            }
        }
        if triggerType == .schedule {
            if let schedule {
                do { try schedule.validate() } catch {
                    p.append(.init(field: error.field.hasPrefix("schedule") ? error.field : "schedule.\(error.field)", message: error.message))
                }
            } else {
                p.append(.init(field: "schedule", message: "a SCHEDULE event needs a schedule"))
            }
        }
        if timeoutValue < 1 { p.append(.init(field: "timeoutValue", message: "must be at least 1")) }
        if timeoutSeconds > 7 * 86400 { p.append(.init(field: "timeoutValue", message: "must be at most 7 days")) }
        if !(0...Event.maxRetries).contains(retries) { p.append(.init(field: "retries", message: "must be between 0 and \(Event.maxRetries)")) }
        if !(0...3600).contains(retryBackoffSeconds) { p.append(.init(field: "retryBackoffSeconds", message: "must be between 0 and 3600")) }
        if maxExecutions < 0 { p.append(.init(field: "maxExecutions", message: "must be 0 (unlimited) or more")) }
        if !(1024...(256 << 20)).contains(logCapBytes) { p.append(.init(field: "logCapBytes", message: "must be between 1024 and 268435456")) }
        p += retention?.problems(field: "retention") ?? []
        for key in environment.keys where !Self.isValidVariableName(key) {
            p.append(.init(field: "environment.\(key)", message: "must be a shell variable name: letters, digits and _, not starting with a digit"))
        }
        for key in environment.keys where key.hasPrefix("CRONIUM_") {
            p.append(.init(field: "environment.\(key)", message: "the CRONIUM_ prefix is reserved for variables Cronium sets"))
        }
        for (name, key) in (variables ?? [:]).sorted(by: { $0.key < $1.key }) {
            if !Self.isValidVariableName(name) || name.hasPrefix("CRONIUM_") {
                p.append(.init(field: "variables.\(name)", message: "must be a shell variable name not starting with CRONIUM_"))
            } else if environment[name] != nil {
                p.append(.init(field: "variables.\(name)", message: "is set in environment too; give it one value"))
            }
            if let problem = VariableRules.problem(key: key) { p.append(.init(field: "variables.\(name)", message: problem)) }
        }
        let actions = self.actions ?? []
        if actions.count > EventAction.maxPerEvent { p.append(.init(field: "actions", message: "at most \(EventAction.maxPerEvent) actions")) }
        for (index, action) in actions.enumerated() {
            let field = "actions[\(index)]"
            switch action.type {
            case .runEvent:
                if action.eventId == nil && action.eventName == nil {
                    p.append(.init(field: "\(field).eventId", message: "RUN_EVENT needs the event to run (eventId)"))
                }
                if action.eventId != nil && action.eventId == id { p.append(.init(field: "\(field).eventId", message: "an event cannot run itself")) }
                if action.tool != nil || action.to != nil || action.subject != nil || action.message != nil || action.html != nil {
                    p.append(.init(field: field, message: "tool, to, subject, message and html belong to SEND_MESSAGE"))
                }
                if action.workflowId != nil || action.workflowName != nil {
                    p.append(.init(field: field, message: "workflowId belongs to RUN_WORKFLOW"))
                }
            case .runWorkflow:
                if action.workflowId == nil && action.workflowName == nil {
                    p.append(.init(field: "\(field).workflowId", message: "RUN_WORKFLOW needs the workflow to run (workflowId or workflowName)"))
                }
                if action.eventId != nil || action.eventName != nil || action.tool != nil || action.message != nil {
                    p.append(.init(field: field, message: "RUN_WORKFLOW takes workflowId (or workflowName) only"))
                }
            case .sendMessage:
                if action.tool?.isEmpty ?? true {
                    p.append(.init(field: "\(field).tool", message: "SEND_MESSAGE needs a tool: the name of one of your tools (`cronium tool list`)"))
                }
                if action.message?.isEmpty ?? true { p.append(.init(field: "\(field).message", message: "SEND_MESSAGE needs a message")) }
                if action.eventId != nil || action.eventName != nil { p.append(.init(field: field, message: "eventId belongs to RUN_EVENT")) }
                if action.workflowId != nil || action.workflowName != nil {
                    p.append(.init(field: field, message: "workflowId belongs to RUN_WORKFLOW"))
                }
            }
        }
        if let image {
            if runLocation != .container {
                p.append(
                    .init(field: "image", message: "applies to CONTAINER events only; set runLocation CONTAINER, or send \"image\": \"\" to clear it")
                )
            } else if let problem = Self.problem(image: image) {
                p.append(.init(field: "image", message: problem))
            }
        }
        if runLocation == .container, !type.isScript {
            p.append(.init(field: "runLocation", message: "\(type.rawValue) events are sent by the server itself; only scripts run in containers"))
        }
        if type == .toolAction {
            if let toolAction {
                if toolAction.tool.isEmpty {
                    p.append(.init(field: "toolAction.tool", message: "is required: the name of one of your tools (`cronium tool list`)"))
                }
                if toolAction.message.isEmpty { p.append(.init(field: "toolAction.message", message: "is required")) }
            } else {
                p.append(.init(field: "toolAction", message: "a TOOL_ACTION event needs {\"tool\", \"message\"} (and a \"subject\" if you like)"))
            }
        } else if toolAction != nil {
            p.append(.init(field: "toolAction", message: "applies to TOOL_ACTION events only"))
        }
        p += remoteProblems()
        if limits?.cpus != nil, runLocation != .container {
            p.append(.init(field: "limits.cpus", message: "applies to CONTAINER runs only"))
        }
        for problem in (readOnlyPaths ?? []).compactMap(Self.problem(readOnlyPath:)) {
            p.append(.init(field: "readOnlyPaths", message: problem))
        }
        if tags.contains(where: { $0.isEmpty || $0.count > 64 }) { p.append(.init(field: "tags", message: "each tag must be 1 to 64 characters")) }
        try ValidationError.check(p)
    }

    /// A `REMOTE` event names its servers (or a tag) and is a script; other events name none.
    func remoteProblems() -> [FieldProblem] {
        var p: [FieldProblem] = []
        guard runLocation == .remote else {
            if servers != nil || serverTag != nil {
                p.append(
                    .init(
                        field: servers != nil ? "servers" : "serverTag",
                        message: "applies to REMOTE events only; set runLocation REMOTE, or send [] (\"\" for serverTag) to clear it"
                    )
                )
            }
            return p
        }
        if !type.isScript {
            p.append(
                .init(field: "runLocation", message: "\(type.rawValue) events are sent by the server itself; only scripts run on remote servers")
            )
        }
        if servers == nil && serverTag == nil {
            p.append(
                .init(
                    field: "servers",
                    message: "a REMOTE event needs the servers to run on: servers (their names) or serverTag (every server with that tag)"
                )
            )
        }
        let names = servers ?? []
        for name in Set(names.filter { name in names.filter { $0 == name }.count > 1 }).sorted() {
            p.append(.init(field: "servers", message: "lists \(name) more than once"))
        }
        if names.count > Self.maxServers { p.append(.init(field: "servers", message: "at most \(Self.maxServers) servers")) }
        if limits != nil {
            p.append(.init(field: "limits", message: "applies to LOCAL and CONTAINER runs; a REMOTE run is bounded by its timeout on each server"))
        }
        if readOnlyPaths != nil { p.append(.init(field: "readOnlyPaths", message: "applies to LOCAL runs only")) }
        return p
    }

    /// The most servers one event names (a tag may bring more).
    public static let maxServers = 100

    /// Why `image` cannot name a container image (`registry/name:tag` or `name@sha256:…`), if it cannot.
    public static func problem(image: String) -> String? {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-/:@")
        guard image.count <= 255, !image.isEmpty, image.allSatisfy(allowed.contains), let first = image.first, first.isLetter || first.isNumber else {
            return "'\(image)' is not an image name (letters, digits and . _ - / : @, such as cronium/runner:python)"
        }
        return nil
    }

    /// Why `path` cannot be a read-only path of the sandbox, as far as its form goes.
    public static func problem(readOnlyPath path: String) -> String? {
        path.hasPrefix("/") && !path.split(separator: "/").contains("..") ? nil : "'\(path)' must be an absolute path without '..'"
    }

    static func isValidVariableName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, !("0"..."9").contains(first) else { return false }
        return name.unicodeScalars.allSatisfy { $0 == "_" || ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) }
    }
}

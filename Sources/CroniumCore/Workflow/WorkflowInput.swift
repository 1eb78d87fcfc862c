import Foundation

/// What a client sends to create a workflow or replace its definition (`cronium workflow create
/// --file wf.yaml`). Nodes name their events by `eventName` in a document, or by `eventId`.
public struct WorkflowInput: Codable, Sendable, Equatable {
    public var name: String?
    public var description: String?
    public var status: WorkflowStatus?
    public var trigger: WorkflowTrigger?
    public var schedule: Schedule?
    public var overlap: OverlapPolicy?
    public var nodes: [WorkflowNode]?
    public var connections: [WorkflowConnection]?

    public init(
        name: String? = nil,
        description: String? = nil,
        status: WorkflowStatus? = nil,
        trigger: WorkflowTrigger? = nil,
        schedule: Schedule? = nil,
        overlap: OverlapPolicy? = nil,
        nodes: [WorkflowNode]? = nil,
        connections: [WorkflowConnection]? = nil
    ) {
        self.name = name
        self.description = description
        self.status = status
        self.trigger = trigger
        self.schedule = schedule
        self.overlap = overlap
        self.nodes = nodes
        self.connections = connections
    }
}

extension WorkflowInput {
    /// `workflow` as a document holds it: every field but ids and times, with its nodes naming
    /// their events (`eventNames`, by id) rather than by id.
    public init(exporting workflow: Workflow, eventNames: [EventID: String]) {
        self.init(
            name: workflow.name,
            description: workflow.description,
            status: workflow.status,
            trigger: workflow.trigger,
            schedule: workflow.schedule,
            overlap: workflow.overlap,
            nodes: workflow.nodes.map { node in
                var node = node
                if let id = node.eventId, let name = eventNames[id] { (node.eventId, node.eventName) = (nil, name) }
                return node
            },
            connections: workflow.connections
        )
    }
}

extension Workflow {
    /// The most characters of a workflow's name.
    public static let maxNameLength = 200

    /// `input` over `self` (fields left out keep their value), and what is wrong with the result
    /// on its own: its name, its trigger and schedule, its graph, its nodes' overrides. The events
    /// the nodes run are the engine's to check.
    public func applying(_ input: WorkflowInput, now: Date) -> (workflow: Workflow, problems: [FieldProblem]) {
        var next = self
        if let name = input.name { next.name = name.trimmingCharacters(in: .whitespaces) }
        if let description = input.description { next.description = description.isEmpty ? nil : description }
        if let status = input.status { next.status = status }
        if let trigger = input.trigger { next.trigger = trigger }
        if input.schedule != nil || input.trigger != nil { next.schedule = input.schedule ?? (next.trigger == .schedule ? next.schedule : nil) }
        // The policy is the workflow's (webhooks obey it too); a schedule that names one other
        // than the default gives it when the workflow names none.
        if let overlap = input.overlap ?? input.schedule.flatMap({ $0.overlap == .skip ? nil : $0.overlap }) { next.overlap = overlap }
        let overlap = next.effectiveOverlap
        next.schedule?.overlap = overlap
        if let nodes = input.nodes { next.nodes = nodes }
        if let connections = input.connections { next.connections = connections }
        next.updatedAt = now
        return (next, next.problems())
    }

    func problems() -> [FieldProblem] {
        var problems: [FieldProblem] = []
        if name.isEmpty { problems.append(.init(field: "name", message: "is required")) }
        if name.count > Self.maxNameLength { problems.append(.init(field: "name", message: "must be at most \(Self.maxNameLength) characters")) }
        switch (trigger, schedule) {
        case (.schedule, nil): problems.append(.init(field: "schedule", message: "a SCHEDULE workflow needs a schedule"))
        case (.schedule, let schedule?):
            do { try schedule.validate() } catch {
                problems.append(.init(field: error.field.hasPrefix("schedule") ? error.field : "schedule.\(error.field)", message: error.message))
            }
        case (_, .some): problems.append(.init(field: "schedule", message: "only a SCHEDULE workflow has a schedule; set trigger to SCHEDULE"))
        case (_, nil): break
        }
        problems += graph.problems()
        for (position, node) in nodes.enumerated() { problems += node.problems(field: "nodes[\(position)]") }
        return problems
    }
}

extension WorkflowNode {
    /// What is wrong with the node's own fields (its event aside).
    func problems(field: String) -> [FieldProblem] {
        var problems: [FieldProblem] = []
        switch (eventId, eventName) {
        case (nil, nil): problems.append(.init(field: "\(field).eventName", message: "name the event the node runs"))
        case (.some, .some): problems.append(.init(field: "\(field).eventName", message: "give the event's eventName or its eventId, not both"))
        default: break
        }
        if let timeoutSeconds, !(1...7 * 86400).contains(timeoutSeconds) {
            problems.append(.init(field: "\(field).timeoutSeconds", message: "must be between 1 and 604800 (7 days)"))
        }
        if let retries, !(0...Event.maxRetries).contains(retries) {
            problems.append(.init(field: "\(field).retries", message: "must be between 0 and \(Event.maxRetries)"))
        }
        if servers != nil && serverTag != nil {
            problems.append(.init(field: "\(field).serverTag", message: "name servers or a serverTag, not both"))
        }
        if let servers, servers.count > Event.maxServers {
            problems.append(.init(field: "\(field).servers", message: "at most \(Event.maxServers) servers"))
        }
        return problems
    }

    /// `event` as this node runs it: the node's placement, timeout and retries over the event's.
    public func applied(to event: Event) -> Event {
        var event = event
        if let runLocation { event.runLocation = runLocation }
        if servers != nil || serverTag != nil { (event.servers, event.serverTag) = (servers, serverTag) }
        if let image { event.image = image }
        if let timeoutSeconds { (event.timeoutValue, event.timeoutUnit) = (timeoutSeconds, .seconds) }
        if let retries { event.retries = retries }
        return event
    }
}

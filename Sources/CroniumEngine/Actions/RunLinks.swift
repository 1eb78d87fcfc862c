import CroniumCore

/// Which runs set off which, with nobody asking: an event's `RUN_EVENT` and `RUN_WORKFLOW`
/// actions, and a workflow's nodes (each node's run fires its event's actions). Saving an event or
/// a workflow checks that no path leads back to it; one that did would run forever.
struct RunLinks {
    private var events: [EventID: Event]
    private var workflows: [WorkflowID: Workflow]

    init(events: [Event], workflows: [Workflow]) {
        self.events = Dictionary(events.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        self.workflows = Dictionary(workflows.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
    }

    /// These links with `event` as it is about to be saved.
    func with(_ event: Event) -> RunLinks {
        var links = self
        links.events[event.id] = event
        return links
    }

    func with(_ workflow: Workflow) -> RunLinks {
        var links = self
        links.workflows[workflow.id] = workflow
        return links
    }

    func next(after target: RunTarget) -> [RunTarget] {
        switch target {
        case .event(let id):
            (events[id]?.actions ?? []).compactMap { action in
                switch action.type {
                case .runEvent: action.eventId.map(RunTarget.event)
                case .runWorkflow: action.workflowId.map(RunTarget.workflow)
                case .sendMessage: nil
                }
            }
        case .workflow(let id): (workflows[id]?.nodes ?? []).compactMap { $0.eventId.map(RunTarget.event) }
        }
    }

    /// A path from `start` back to it, both ends included; nil when there is none.
    func cycle(from start: RunTarget) -> [RunTarget]? {
        var visited: Set<RunTarget> = []
        var path: [RunTarget] = [start]
        func search(_ current: RunTarget) -> Bool {
            for next in next(after: current) {
                if next == start { return true }
                guard visited.insert(next).inserted else { continue }
                path.append(next)
                if search(next) { return true }
                path.removeLast()
            }
            return false
        }
        return search(start) ? path + [start] : nil
    }

    /// `'report' (1) → workflow 'nightly' (2) → 'report' (1)`; what an import is about to create
    /// (a stand-in id below zero) is `(new)`.
    func describe(_ path: [RunTarget]) -> String {
        func id(_ raw: Int64) -> String { raw < 0 ? "new" : String(raw) }
        return path.map { target in
            switch target {
            case .event(let eventId): "'\(events[eventId]?.name ?? "?")' (\(id(eventId.rawValue)))"
            case .workflow(let workflowId): "workflow '\(workflows[workflowId]?.name ?? "?")' (\(id(workflowId.rawValue)))"
            }
        }.joined(separator: " → ")
    }
}

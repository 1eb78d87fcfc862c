import CroniumCore
import CroniumStore
import Foundation

/// The rules for an event's actions, checked when it is saved.
extension Engine {
    /// Resolves actions that name their event or workflow (`eventName`, `workflowName`, as an
    /// export writes them) to its id among the owner's, checks that the owner may run every
    /// target, and refuses a set of actions that would set each other off forever, naming the
    /// cycle. `creating`, `creatingWorkflows`: names of events and workflows an import is about
    /// to create; actions naming them keep the name until those have ids.
    func resolveActions(of event: inout Event, creating: Set<String> = [], creatingWorkflows: Set<String> = []) async throws {
        guard var actions = event.actions, !actions.isEmpty else { return }
        guard let owner = try await store.user(id: event.ownerId) else { return }
        let all = try await store.events()
        let workflows = try await store.workflows(ownerId: nil)
        var problems: [FieldProblem] = []
        for index in actions.indices {
            let field = "actions[\(index)]"
            switch actions[index].type {
            case .runEvent:
                if actions[index].eventId == nil, let name = actions[index].eventName {
                    let named = all.filter { $0.ownerId == event.ownerId && $0.name == name }
                    if named.isEmpty && creating.contains(name) { continue }
                    guard named.count == 1 else {
                        problems.append(
                            .init(
                                field: "\(field).eventName",
                                message: named.isEmpty ? "you have no event named '\(name)'" : "you have \(named.count) events named '\(name)'"
                            )
                        )
                        continue
                    }
                    actions[index].eventId = named[0].id
                }
                actions[index].eventName = nil
                guard let id = actions[index].eventId else { continue }
                guard let target = all.first(where: { $0.id == id }), owner.canRead(target) else {
                    problems.append(.init(field: "\(field).eventId", message: "event \(id) does not exist, or the event's owner may not see it"))
                    continue
                }
                if !owner.canRun(target) { problems.append(.init(field: "\(field).eventId", message: "the event's owner may not run event \(id)")) }
                if target.id == event.id { problems.append(.init(field: "\(field).eventId", message: "an event cannot run itself")) }
            case .runWorkflow:
                if actions[index].workflowId == nil, let name = actions[index].workflowName {
                    if creatingWorkflows.contains(name) { continue }
                    guard let named = workflows.first(where: { $0.ownerId == event.ownerId && $0.name == name }) else {
                        problems.append(.init(field: "\(field).workflowName", message: "you have no workflow named '\(name)'"))
                        continue
                    }
                    actions[index].workflowId = named.id
                }
                actions[index].workflowName = nil
                guard let id = actions[index].workflowId else { continue }
                guard let target = workflows.first(where: { $0.id == id }), owner.canChange(target) else {
                    problems.append(
                        .init(field: "\(field).workflowId", message: "workflow \(id) does not exist, or the event's owner may not run it")
                    )
                    continue
                }
            case .sendMessage:
                continue
            }
        }
        try ValidationError.check(problems)
        event.actions = actions
        if actions.contains(where: { ($0.eventId == nil && $0.eventName != nil) || ($0.workflowId == nil && $0.workflowName != nil) }) {
            return  // Checked once resolved.
        }
        guard event.id != 0 else { return }  // A new event: nothing runs it yet.
        let links = RunLinks(events: all, workflows: workflows).with(event)
        if let cycle = links.cycle(from: .event(event.id)) {
            throw ValidationError(field: "actions", message: "these actions would run forever: \(links.describe(cycle))")
        }
    }

    /// After an import inserted its new events: actions that named one of them get its id, and
    /// the events so changed are checked for cycles among all events and workflows. Returns the
    /// changed events.
    static func resolvePendingActions(of events: [Event], among all: [Event], workflows: [Workflow]) throws -> [Event] {
        let byName = Dictionary(events.map { ($0.name, $0.id) }, uniquingKeysWith: { first, _ in first })
        var changed: [Event] = []
        for var event in events where (event.actions ?? []).contains(where: { $0.eventId == nil && $0.eventName != nil }) {
            event.actions = event.actions?.map { action in
                var action = action
                if action.eventId == nil, let name = action.eventName, let id = byName[name] { (action.eventId, action.eventName) = (id, nil) }
                return action
            }
            changed.append(event)
        }
        let everything = all.filter { stored in !changed.contains { $0.id == stored.id } } + changed
        let links = RunLinks(events: everything, workflows: workflows)
        for event in changed {
            if let cycle = links.cycle(from: .event(event.id)) {
                throw ValidationError(field: "actions", message: "these actions would run forever: \(links.describe(cycle))")
            }
        }
        return changed
    }

    /// What a run's end set off.
    public func actionFirings(of executionId: ExecutionID) async throws -> [ActionFiring] {
        try await store.actionFirings(of: executionId)
    }

    /// The messages sent about a run.
    public func deliveries(of executionId: ExecutionID) async throws -> [Delivery] {
        try await store.deliveries(of: executionId)
    }

    /// The parts of a REMOTE run, one per server; none for other runs.
    public func parts(of executionId: ExecutionID) async throws -> [Execution] {
        try await store.parts(of: executionId)
    }
}

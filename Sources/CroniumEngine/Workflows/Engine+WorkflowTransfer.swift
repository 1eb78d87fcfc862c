import CroniumCore
import CroniumStore
import Foundation

/// Workflows in documents: exported with the events they run, imported by name after the
/// document's events, every problem found before anything is written.
extension Engine {
    /// The workflows given, with the events their nodes run, as a document an import makes again.
    public func exportDocument(of workflows: [Workflow]) async throws -> EventDocument {
        let all = try await store.events()
        let used = Set(workflows.flatMap { $0.nodes.compactMap(\.eventId) })
        var document = try await exportDocument(of: all.filter { used.contains($0.id) })
        let names = Dictionary(all.map { ($0.id, $0.name) }, uniquingKeysWith: { first, _ in first })
        document.workflows = workflows.map { WorkflowInput(exporting: $0, eventNames: names) }
        return document
    }

    /// One workflow of a document: the stored one it changes (nil: a new one), what it becomes.
    struct WorkflowPlan {
        var index: Int
        var input: WorkflowInput
        var before: Workflow?
        /// With nodes resolved against the stored events and `planned` ones (stand-in ids).
        var after: Workflow
    }

    /// Checks the document's workflows (names, definitions, nodes' events among the stored and
    /// the `events` the document creates); returns the plans and `problems` with theirs added.
    func planWorkflows(
        _ inputs: [WorkflowInput],
        mine: [String: Workflow],
        events planned: [Event],
        by user: User,
        problems: [FieldProblem],
        now: Date
    ) async throws -> ([WorkflowPlan], [FieldProblem]) {
        var problems = problems
        var plans: [WorkflowPlan] = []
        var firstIndex: [String: Int] = [:]
        for (index, input) in inputs.enumerated() {
            let field = "workflows[\(index)]"
            guard let name = Self.documentName(input.name, at: index, of: "workflows", seen: &firstIndex, problems: &problems) else { continue }
            let before = mine[name]
            var (after, found) = (before ?? Self.newWorkflow(ownerId: user.id, now: now)).applying(input, now: now)
            found += try await resolveNodes(of: &after, owner: user, planned: planned)
            problems += found.map { .init(field: "\(field).\($0.field)", message: $0.message) }
            plans.append(WorkflowPlan(index: index, input: input, before: before, after: after))
        }
        return (plans, problems)
    }

    /// Refuses a document whose events and workflows, as they would be written, would set each
    /// other off forever; new ones stand in with ids below zero.
    func checkCycles(events: [Event], planned: [Event], workflows: [WorkflowPlan]) async throws {
        var links = RunLinks(events: try await store.events(), workflows: try await store.workflows(ownerId: nil))
        let eventIds = Dictionary((events.filter { $0.id.rawValue > 0 } + planned).map { ($0.name, $0.id) }, uniquingKeysWith: { first, _ in first })
        let workflowIds = Dictionary(
            workflows.enumerated().map { index, plan in (plan.after.name, plan.before?.id ?? WorkflowID(-Int64(index) - 1)) },
            uniquingKeysWith: { first, _ in first }
        )
        var starts: [RunTarget] = []
        for var event in events.filter({ $0.id.rawValue > 0 }) + planned {
            event.actions = event.actions?.map { action in
                var action = action
                if action.eventId == nil, let name = action.eventName { action.eventId = eventIds[name] }
                if action.workflowId == nil, let name = action.workflowName { action.workflowId = workflowIds[name] }
                return action
            }
            links = links.with(event)
            starts.append(.event(event.id))
        }
        for plan in workflows {
            var workflow = plan.after
            workflow.id = workflowIds[workflow.name] ?? workflow.id
            links = links.with(workflow)
            starts.append(.workflow(workflow.id))
        }
        for start in starts {
            if let cycle = links.cycle(from: start) {
                throw ValidationError(field: "actions", message: "these actions would run forever: \(links.describe(cycle))")
            }
        }
    }

    static func report(_ plans: [WorkflowPlan]) -> ImportReport.Workflows {
        var report = ImportReport.Workflows()
        for plan in plans {
            guard let before = plan.before else {
                report.created.append(.init(id: nil, name: plan.after.name))
                continue
            }
            var compared = plan.after
            compared.updatedAt = before.updatedAt
            if compared == before {
                report.unchanged.append(.init(id: before.id, name: before.name))
            } else {
                report.updated.append(.init(id: before.id, name: before.name))
            }
        }
        return report
    }

    /// Writes the workflows once the document's events are stored: nodes are resolved again, now
    /// to the events' ids; then events whose actions named a workflow the document created get its id.
    func save(_ plans: [WorkflowPlan], by user: User, now: Date) async throws -> ImportReport.Workflows {
        var report = Self.report(plans)
        var created: [String: WorkflowID] = [:]
        for plan in plans {
            var (workflow, problems) = (plan.before ?? Self.newWorkflow(ownerId: user.id, now: now)).applying(plan.input, now: now)
            problems += try await resolveNodes(of: &workflow, owner: user)
            try ValidationError.check(problems.map { .init(field: "workflows[\(plan.index)].\($0.field)", message: $0.message) })
            if report.unchanged.contains(where: { $0.name == workflow.name }) { continue }
            let saved = try await store.saveWorkflow(workflow)
            await scheduler.markChanged(.workflow(saved.id), resetTimetable: plan.before.map { saved.timetableDiffers(from: $0) } ?? true)
            if plan.before == nil { created[saved.name] = saved.id }
        }
        report.created = report.created.map { .init(id: created[$0.name], name: $0.name) }
        let pending = try await store.events(ownerOrShared: user.id).filter { event in
            event.ownerId == user.id && (event.actions ?? []).contains { $0.workflowId == nil && $0.workflowName.map { created[$0] != nil } == true }
        }
        let resolved = pending.map { event in
            var event = event
            event.actions = event.actions?.map { action in
                var action = action
                if action.workflowId == nil, let name = action.workflowName, let id = created[name] {
                    (action.workflowId, action.workflowName) = (id, nil)
                }
                return action
            }
            return event
        }
        if !resolved.isEmpty { _ = try await store.saveEvents(inserting: [], updating: resolved, revise: nil) }
        return report
    }

    private static func newWorkflow(ownerId: UserID, now: Date) -> Workflow {
        Workflow(id: 0, ownerId: ownerId, name: "", nodes: [], connections: [], createdAt: now, updatedAt: now)
    }

    /// The name of a document's entry `list[index]`, trimmed; nil, with the problem added, when
    /// it has none or an earlier entry of the list has it (an import matches by name).
    static func documentName(_ given: String?, at index: Int, of list: String, seen: inout [String: Int], problems: inout [FieldProblem]) -> String? {
        let field = "\(list)[\(index)].name"
        guard let name = given?.trimmingCharacters(in: .whitespacesAndNewlines), !name.isEmpty else {
            problems.append(.init(field: field, message: "is required: an import matches \(list) by name"))
            return nil
        }
        if let first = seen[name] {
            problems.append(.init(field: field, message: "'\(name)' is also the name of \(list)[\(first)]: names must differ within a document"))
            return nil
        }
        seen[name] = index
        return name
    }
}

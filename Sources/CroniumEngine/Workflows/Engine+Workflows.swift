import CroniumCore
import CroniumExecutors
import CroniumStore
import Foundation

/// What users may do with workflows, each rule in one place: who sees and changes them, and that
/// every node runs an event its owner may run, where this server can run it.
extension Engine {
    public func createWorkflow(_ input: WorkflowInput, by user: User) async throws -> Workflow {
        guard user.canCreate else { throw CroniumError.forbidden }
        let now = clock.now()
        let empty = Workflow(id: 0, ownerId: user.id, name: "", nodes: [], connections: [], createdAt: now, updatedAt: now)
        var (workflow, problems) = empty.applying(input, now: now)
        problems += try await resolveNodes(of: &workflow, owner: user)
        try ValidationError.check(problems)
        let saved = try await store.saveWorkflow(workflow)
        await scheduler.markChanged(.workflow(saved.id), resetTimetable: true)
        return saved
    }

    /// Replaces what `input` gives of the workflow's definition; the rest stays.
    public func updateWorkflow(id: WorkflowID, with input: WorkflowInput, by user: User) async throws -> Workflow {
        let before = try await workflow(id: id, visibleTo: user)
        guard user.canChange(before) else { throw CroniumError.forbidden }
        var (workflow, problems) = before.applying(input, now: clock.now())
        // The rules are the owner's, whoever edits: an administrator cannot hand them another's events.
        guard let owner = try await store.user(id: before.ownerId) else { throw CroniumError.notFound("workflow \(id)") }
        problems += try await resolveNodes(of: &workflow, owner: owner)
        try ValidationError.check(problems)
        let links = RunLinks(events: try await store.events(), workflows: try await store.workflows(ownerId: nil)).with(workflow)
        if let cycle = links.cycle(from: .workflow(id)) {
            throw ValidationError(
                field: "nodes",
                message: "the nodes' events' actions would start this workflow again, forever: \(links.describe(cycle))"
            )
        }
        let saved = try await store.saveWorkflow(workflow)
        await scheduler.markChanged(.workflow(id), resetTimetable: saved.timetableDiffers(from: before))
        return saved
    }

    /// The caller's own workflows; everyone's for an administrator.
    public func workflows(visibleTo user: User) async throws -> [Workflow] {
        try await store.workflows(ownerId: user.role == .admin ? nil : user.id)
    }

    public func workflow(id: WorkflowID, visibleTo user: User) async throws -> Workflow {
        guard let workflow = try await store.workflow(id: id), user.role == .admin || workflow.ownerId == user.id else {
            throw CroniumError.notFound("workflow \(id)")
        }
        return workflow
    }

    /// Deletes a workflow with its runs; the runs going on are cancelled first, their nodes
    /// under way stopped.
    public func deleteWorkflow(id: WorkflowID, by user: User) async throws {
        let workflow = try await workflow(id: id, visibleTo: user)
        guard user.canChange(workflow) else { throw CroniumError.forbidden }
        for run in try await store.workflowRuns(workflowId: id, limit: Int(Int32.max)) where run.status == .running {
            for execution in try await RunQueue(queue: store).cancelWorkflow(run.id, reason: "the workflow was deleted", now: clock.now()) ?? [] {
                _ = try await cancel(executionId: execution, reason: "the workflow was deleted")
            }
        }
        _ = try await store.deleteWorkflow(id: id)
        await scheduler.markChanged(.workflow(id), resetTimetable: true)
    }

    /// Names each node's event by id (a document names it by name, among the owner's events and
    /// the shared ones, the owner's first), and says what is wrong: an event that is not there,
    /// one the owner may not run, a placement this server cannot run. `planned`: events an import
    /// is about to create (with stand-in ids), found by name before the owner's stored ones.
    func resolveNodes(of workflow: inout Workflow, owner: User, planned: [Event] = []) async throws -> [FieldProblem] {
        let visible = try await store.events(ownerOrShared: owner.role == .admin ? nil : owner.id).filter(owner.canRead) + planned
        let byName = Dictionary(grouping: visible, by: \.name).mapValues { events in events.first { $0.ownerId == owner.id } ?? events[0] }
        let byId = Dictionary(uniqueKeysWithValues: visible.map { ($0.id, $0) })
        var problems: [FieldProblem] = []
        for position in workflow.nodes.indices {
            let node = workflow.nodes[position]
            let field = "nodes[\(position)]"
            let event: Event?
            switch (node.eventId, node.eventName) {
            case (let id?, nil): event = byId[id]
            case (nil, let name?): event = byName[name]
            default: continue  // the node's own problems say it
            }
            guard let event else {
                let named = node.eventName.map { "no event named '\($0)'" } ?? "no event \(node.eventId.map(String.init) ?? "")"
                problems.append(.init(field: "\(field).eventName", message: "there is \(named) that the workflow's owner may run"))
                continue
            }
            guard owner.canRun(event) else {
                problems.append(.init(field: "\(field).eventName", message: "the workflow's owner may not run event '\(event.name)'"))
                continue
            }
            workflow.nodes[position].eventId = event.id
            workflow.nodes[position].eventName = nil
            if let problem = executors.problem(running: node.applied(to: event)) {
                problems.append(.init(field: "\(field).runLocation", message: problem))
            }
        }
        return problems
    }
}

// MARK: Runs

extension Engine {
    /// Runs a workflow now, for `user`: its roots start at once, with `input`. Returns the run's id.
    public func runWorkflow(id: WorkflowID, by user: User, input: JSONValue? = nil) async throws -> WorkflowRunID {
        let workflow = try await workflow(id: id, visibleTo: user)
        guard user.role != .viewer else { throw CroniumError.forbidden }
        guard workflow.status != .archived else {
            throw CroniumError(.eventArchived, "archived workflows cannot run; set status to ACTIVE, PAUSED or DRAFT first")
        }
        let runId = try await RunQueue(queue: store).startWorkflow(workflow, trigger: .manual, input: input, triggeredBy: user.id, now: clock.now())
        dispatcher.doorbell.ring()
        return runId
    }

    /// Cancels a run: nodes not started are cancelled, those under way are stopped. Returns the
    /// run as it stands afterwards.
    public func cancelWorkflowRun(id: WorkflowRunID, by user: User) async throws -> WorkflowRun {
        let run = try await workflowRun(id: id, visibleTo: user)
        guard user.role != .viewer else { throw CroniumError.forbidden }
        guard let running = try await RunQueue(queue: store).cancelWorkflow(id, reason: "cancelled by \(user.username)", now: clock.now()) else {
            throw CroniumError(.executionEnded, "workflow run \(id) has already ended (\(run.status.rawValue))")
        }
        for execution in running { _ = try await cancel(executionId: execution, reason: "the workflow run was cancelled by \(user.username)") }
        return try await workflowRun(id: id, visibleTo: user)
    }

    /// A workflow's runs, newest first.
    public func workflowRuns(workflowId: WorkflowID, visibleTo user: User, limit: Int) async throws -> [WorkflowRun] {
        _ = try await workflow(id: workflowId, visibleTo: user)
        return try await store.workflowRuns(workflowId: workflowId, limit: limit)
    }

    public func workflowRun(id: WorkflowRunID, visibleTo user: User) async throws -> WorkflowRun {
        guard let run = try await store.workflowRun(id: id) else { throw CroniumError.notFound("workflow run \(id)") }
        _ = try await workflow(id: run.workflowId, visibleTo: user)
        return run
    }
}

// MARK: Schedules

extension Engine {
    /// A workflow's ledger, newest first.
    public func workflowLedger(id: WorkflowID, visibleTo user: User, limit: Int, offset: Int) async throws -> [WorkflowOccurrence] {
        _ = try await workflow(id: id, visibleTo: user)
        return try await store.workflowLedger(workflowId: id, limit: limit, offset: offset)
    }

    /// The next `count` fire times of a workflow; for one that does not fire now (paused, draft,
    /// archived), the times it would fire if it were made ACTIVE.
    public func upcomingFires(workflowId: WorkflowID, visibleTo user: User, count: Int) async throws -> UpcomingWorkflowFires {
        let workflow = try await workflow(id: workflowId, visibleTo: user)
        let schedule = workflow.trigger == .schedule ? workflow.schedule : nil
        return UpcomingWorkflowFires(
            workflowId: workflow.id,
            status: workflow.status,
            fires: workflow.isScheduled,
            timeZone: schedule?.timeZone,
            times: try await upcoming(.workflow(workflow.id), schedule: schedule, fires: workflow.isScheduled, count: count)
        )
    }
}

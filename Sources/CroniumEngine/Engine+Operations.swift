import CroniumCore
import CroniumExecutors
import CroniumStore
import Foundation

/// What users may do with events and runs, each rule in one place; HTTP and the CLI call these.
extension Engine {
    public func createEvent(_ input: EventInput, by user: User) async throws -> Event {
        guard user.canCreate else { throw CroniumError.forbidden }
        var new = try Event.create(from: placed(input), ownerId: user.id, now: clock.now())
        try checkRunnable(new, before: nil, by: user)
        try await checkVariables(new)
        try await checkServers(new)
        try await checkMessages(new)
        try await resolveActions(of: &new)
        let event = try await store.insertEvent(new)
        await scheduler.markChanged(.event(event.id), resetTimetable: true)
        return event
    }

    /// A new event's input with the server's default run location when it names none (scripts
    /// only: HTTP requests are sent from here).
    func placed(_ input: EventInput) -> EventInput {
        guard input.runLocation == nil, input.type?.isScript ?? true, input.httpRequest == nil, input.toolAction == nil else { return input }
        var placed = input
        placed.runLocation = configuration.defaultRunLocation
        return placed
    }

    public func updateEvent(id: EventID, with input: EventInput, by user: User) async throws -> Event {
        let before = try await event(id: id, visibleTo: user)
        guard user.canChange(before) else { throw CroniumError.forbidden }
        var event = before
        try event.apply(input, now: clock.now())
        try checkRunnable(event, before: before, by: user)
        try await checkVariables(event)
        try await checkServers(event)
        try await checkMessages(event)
        try await resolveActions(of: &event)
        try await store.updateEvent(event)
        await scheduler.markChanged(.event(id), resetTimetable: event.timetableDiffers(from: before))
        return event
    }

    /// Deletes an event with its history; its runs that have not ended are cancelled first. An
    /// event a workflow's node runs stays until the node is gone: the workflow would fail.
    public func deleteEvent(id: EventID, by user: User) async throws {
        let event = try await event(id: id, visibleTo: user)
        guard user.canChange(event) else { throw CroniumError.forbidden }
        let users = try await store.workflows(ownerId: nil).compactMap { workflow in
            workflow.nodes.first { $0.eventId == id }.map { "'\(workflow.name)' (\(workflow.id)), node '\($0.key)'" }
        }
        guard users.isEmpty else {
            throw CroniumError(
                .conflict,
                "event \(id) is run by workflow\(users.count == 1 ? "" : "s") \(users.joined(separator: "; ")): remove the node\(users.count == 1 ? "" : "s") first"
            )
        }
        for execution in try await store.unfinishedExecutions(eventId: id) {
            _ = try await cancel(executionId: execution.id, reason: "the event was deleted")
        }
        try await store.deleteEvent(id: id)
        await scheduler.markChanged(.event(id), resetTimetable: true)
    }

    /// Runs an event now, for `user`. Returns the new execution's id.
    /// `input` (JSON text) is what the run's `input()` helper returns.
    public func runNow(eventId: EventID, by user: User, input: String? = nil) async throws -> ExecutionID {
        let event = try await event(id: eventId, visibleTo: user)
        guard user.canRun(event) else { throw CroniumError.forbidden }
        guard event.status != .archived else {
            throw CroniumError(.eventArchived, "archived events cannot run; set status to ACTIVE or PAUSED first")
        }
        guard event.maxExecutions == 0 || event.executionCount < event.maxExecutions else {
            throw CroniumError(
                .executionsUsedUp,
                "event \(event.id) has used all \(event.maxExecutions) of its executions; raise maxExecutions, or re-activate it with resetCounterOnActive set"
            )
        }
        return try await enqueue(eventId: event.id, trigger: .manual, triggeredBy: user.id, input: input)
    }

    /// Cancels a run for `user` and returns it as it stands afterwards.
    public func cancel(executionId: ExecutionID, by user: User) async throws -> Execution {
        let (execution, event) = try await execution(id: executionId, visibleTo: user)
        guard user.canRun(event) else { throw CroniumError.forbidden }
        guard try await cancel(executionId: execution.id, reason: "cancelled by \(user.username)") else {
            throw CroniumError(.executionEnded, "execution \(execution.id) has already ended (\(execution.status.rawValue))")
        }
        return try await store.execution(id: execution.id) ?? execution
    }

    // MARK: Reading

    public func events(visibleTo user: User) async throws -> [Event] {
        try await store.events(ownerOrShared: user.role == .admin ? nil : user.id)
    }

    public func event(id: EventID, visibleTo user: User) async throws -> Event {
        guard let event = try await store.event(id: id), user.canRead(event) else { throw CroniumError.notFound("event \(id)") }
        return event
    }

    public func ledger(eventId: EventID, visibleTo user: User, limit: Int, offset: Int) async throws -> [ScheduleOccurrence] {
        let event = try await event(id: eventId, visibleTo: user)
        return try await store.ledger(eventId: event.id, limit: limit, offset: offset)
    }

    /// Newest first; `before` pages backwards.
    public func executions(visibleTo user: User, eventId: EventID?, status: ExecutionStatus?, before: ExecutionID?, limit: Int) async throws
        -> [Execution]
    {
        let visible = user.role == .admin ? nil : try await store.events(ownerOrShared: user.id).map(\.id)
        return try await store.executions(eventId: eventId, status: status, visibleTo: visible, beforeId: before, limit: limit)
    }

    /// Runs going now, and those of the last day by hour (`.day`) or of the last week by day
    /// (`.week`), among the runs `user` may see. Slices end at the next whole hour (or the next
    /// midnight, UTC), so the last is the one now going.
    public func executionStats(visibleTo user: User, window: StatsWindow) async throws -> ExecutionStats {
        let now = clock.now()
        let slice = window == .day ? 3600 : 86400
        let count = window == .day ? 24 : 7
        let end = (now.timeIntervalSince1970 / Double(slice)).rounded(.down) * Double(slice) + Double(slice)
        let since = Date(timeIntervalSince1970: end - Double(slice * count))
        let visible = user.role == .admin ? nil : try await store.events(ownerOrShared: user.id).map(\.id)
        return try await store.executionStats(since: since, sliceSeconds: slice, count: count, visibleTo: visible)
    }

    public enum StatsWindow: String, Sendable, CaseIterable {
        case day = "24h"
        case week = "7d"
    }

    public func execution(id: ExecutionID, visibleTo user: User) async throws -> (execution: Execution, event: Event) {
        guard let execution = try await store.execution(id: id), let event = try await store.event(id: execution.eventId), user.canRead(event) else {
            throw CroniumError.notFound("execution \(id)")
        }
        return (execution, event)
    }

    /// Lines of a run's log after `afterSeq`, and whether the run has ended and they reach its end.
    /// Follows a run's log from its first line to its end (``LogFollower``), for a user who may see it.
    /// `after`: the lines up to this `seq` are left out (the caller has them).
    public func followLog(executionId: ExecutionID, visibleTo user: User, after: Int = 0) async throws -> LogFollower {
        _ = try await execution(id: executionId, visibleTo: user)
        return LogFollower(executionId: executionId, store: store, hub: logHub, afterSeq: after)
    }

    public func logLines(executionId: ExecutionID, visibleTo user: User, after afterSeq: Int, limit: Int) async throws -> (
        lines: [LogLine], complete: Bool
    ) {
        _ = try await execution(id: executionId, visibleTo: user)
        let lines = try await store.logLines(executionId: executionId, afterSeq: afterSeq, limit: limit)
        let ended = try await store.execution(id: executionId)?.status.isFinal ?? true
        return (lines, ended && lines.count < limit)
    }

    /// Limits within this server's maxima; read-only paths set by an administrator only (each
    /// opens part of the host to every run of the event), never the data directory; a run
    /// location and type this server has an executor for.
    /// Every variable an event maps into its environment is one of its owner's.
    private func checkVariables(_ event: Event) async throws {
        guard let variables = event.variables, !variables.isEmpty else { return }
        let keys = Set(try await store.variables(ownerId: event.ownerId).map(\.key))
        try ValidationError.check(
            variables.sorted { $0.key < $1.key }.filter { !keys.contains($0.value) }.map {
                FieldProblem(field: "variables.\($0.key)", message: "there is no variable \($0.value) (of the event's owner); create it first")
            }
        )
    }

    /// Every `SEND_MESSAGE` action names a tool its owner may send through, with the recipients it
    /// needs, and its templates parse.
    private func checkMessages(_ event: Event) async throws {
        var messages = (event.actions ?? []).enumerated().filter { $0.element.type == .sendMessage }.map {
            (
                field: "actions[\($0.offset)]", tool: $0.element.tool, to: $0.element.to,
                templates: [("subject", $0.element.subject), ("message", $0.element.message), ("html", $0.element.html)]
            )
        }
        if event.type == .toolAction, let spec = event.toolAction {
            messages.append(
                (
                    field: "toolAction", tool: spec.tool, to: spec.to,
                    templates: [("subject", spec.subject), ("message", spec.message), ("html", spec.html)]
                )
            )
        }
        var problems: [FieldProblem] = []
        for action in messages {
            let field = action.field
            if let name = action.tool, !name.isEmpty {
                let html = action.templates.last?.1
                do { _ = try await store.messageTool(named: name, usableBy: event.ownerId, to: action.to, html: html, field: field) } catch let error
                    as ValidationError
                {
                    problems += error.problems
                }
            }
            for (name, template) in action.templates {
                guard let template else { continue }
                do { _ = try MessageTemplate.render(template, over: [:], field: "\(field).\(name)") } catch { problems += error.problems }
            }
        }
        try ValidationError.check(problems)
    }

    /// Every server a `REMOTE` event names is one of its owner's (a tag may match none yet).
    private func checkServers(_ event: Event) async throws {
        guard event.runLocation == .remote, let names = event.servers, !names.isEmpty else { return }
        let owned = Set(try await store.servers(ownerId: event.ownerId).map(\.server.name))
        try ValidationError.check(
            names.filter { !owned.contains($0) }.map {
                FieldProblem(field: "servers", message: "there is no server \($0) (of the event's owner); add it with `cronium server add` first")
            }
        )
    }

    private func checkRunnable(_ event: Event, before: Event?, by user: User) throws {
        if let paths = event.readOnlyPaths, paths != before?.readOnlyPaths, user.role != .admin {
            throw CroniumError(.forbidden, "only administrators may set readOnlyPaths: each path opens part of this machine to the event's runs")
        }
        var problems: [FieldProblem] = []
        if let problem = executors.problem(running: event) { problems.append(.init(field: "runLocation", message: problem)) }
        if let isolation {
            problems += event.limits?.problems(field: "limits", maxima: isolation.maximumLimits) ?? []
            for path in event.readOnlyPaths ?? [] {
                if let problem = Isolation.problem(readOnlyPath: path, forbidden: isolation.forbiddenPaths) {
                    problems.append(.init(field: "readOnlyPaths", message: problem))
                }
            }
        }
        try ValidationError.check(problems)
    }
}

extension Event {
    /// Whether a change moves the event's timetable (then it restarts from now; otherwise the
    /// planned next fire is kept).
    func timetableDiffers(from other: Event) -> Bool {
        schedule != other.schedule || triggerType != other.triggerType || status != other.status
    }
}

// MARK: Next fires and latest runs

extension Engine {
    /// Each event with its next fire and its newest run: one query for the runs, the next fires
    /// from the scheduler's timetable.
    public func overviews(of events: [Event]) async throws -> [EventOverview] {
        let latest = try await store.latestExecutions(eventIds: events.map(\.id))
        var overviews: [EventOverview] = []
        overviews.reserveCapacity(events.count)
        for event in events {
            let next = event.isScheduled ? try await upcoming(event, count: 1).first : nil
            overviews.append(EventOverview(event: event, nextFireAt: next, lastExecution: latest[event.id].map(ExecutionBrief.init)))
        }
        return overviews
    }

    public func overview(of event: Event) async throws -> EventOverview {
        try await overviews(of: [event])[0]
    }

    /// The next `count` fire times of an event the user may see.
    /// What `schedule` would do from now on the engine's clock, before anything is saved.
    public func previewSchedule(_ schedule: Schedule, count: Int) throws(ValidationError) -> SchedulePreview {
        try schedule.preview(from: clock.now(), count: count)
    }

    public func upcomingFires(eventId: EventID, visibleTo user: User, count: Int) async throws -> UpcomingFires {
        let event = try await event(id: eventId, visibleTo: user)
        return UpcomingFires(
            eventId: event.id,
            status: event.status,
            fires: event.isScheduled,
            timeZone: event.schedule?.timeZone,
            times: try await upcoming(event, count: count)
        )
    }

    private func upcoming(_ event: Event, count: Int) async throws -> [Date] {
        try await upcoming(.event(event.id), schedule: event.triggerType == .schedule ? event.schedule : nil, fires: event.isScheduled, count: count)
    }

    /// From the timetable's next fire when the scheduler has one; otherwise (an owner not
    /// firing, or a change not applied yet) from where its timetable would start now.
    func upcoming(_ owner: RunTarget, schedule: Schedule?, fires: Bool, count: Int) async throws -> [Date] {
        guard let schedule, let plan = try? SchedulePlan(schedule) else { return [] }
        var next: Date?
        if fires, let planned = scheduler.nextFire(of: owner, plannedFor: schedule) {
            next = planned
        } else {
            next = Scheduler.nextFire(plan, state: try await store.scheduleState(of: owner), keep: false, now: clock.now())
        }
        var times: [Date] = []
        while let time = next, times.count < count {
            times.append(time)
            next = plan.nextFire(after: time)
        }
        return times
    }
}

// MARK: Export and import

extension Engine {
    /// The events given, as a document an import can make again.
    /// Actions name the events and workflows they run (`eventName`, `workflowName`), as ids mean
    /// nothing on another server.
    public func exportDocument(of events: [Event]) async throws -> EventDocument {
        let names = Dictionary(try await store.events().map { ($0.id, $0.name) }, uniquingKeysWith: { first, _ in first })
        let workflowNames = Dictionary(try await store.workflows(ownerId: nil).map { ($0.id, $0.name) }, uniquingKeysWith: { first, _ in first })
        return EventDocument(
            events: events.map { event in
                var input = EventInput(exporting: event)
                input.actions = input.actions?.map { action in
                    var action = action
                    if let id = action.eventId, let name = names[id] { (action.eventId, action.eventName) = (nil, name) }
                    if let id = action.workflowId, let name = workflowNames[id] { (action.workflowId, action.workflowName) = (nil, name) }
                    return action
                }
                return input
            }
        )
    }

    /// Creates or changes the user's own events, then workflows, to match a document, matched by
    /// name: all of them or, on any problem, none (each problem named `events[i].field` or
    /// `workflows[i].field`). Everything is checked before anything is written. A dry run checks
    /// and reports without writing. What already matches is left untouched.
    public func importDocument(_ document: EventDocument, by user: User, dryRun: Bool) async throws -> ImportReport {
        guard user.canCreate else { throw CroniumError.forbidden }
        let inputs = document.events
        let mine = Dictionary(grouping: try await store.events(ownerOrShared: user.id).filter { $0.ownerId == user.id }, by: \.name)
        let now = clock.now()
        var problems: [FieldProblem] = []
        var firstIndex: [String: Int] = [:]
        var plans: [(before: Event?, after: Event)] = []
        // Names this document creates: actions may run them before they exist.
        let creating = Set(inputs.compactMap { $0.name?.trimmingCharacters(in: .whitespacesAndNewlines) }.filter { mine[$0] == nil })
        let myWorkflows = Dictionary(try await store.workflows(ownerId: user.id).map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        let creatingWorkflows = Set(
            (document.workflows ?? []).compactMap { $0.name?.trimmingCharacters(in: .whitespaces) }.filter { myWorkflows[$0] == nil }
        )
        for (index, input) in inputs.enumerated() {
            let field = "events[\(index)]"
            guard let name = Self.documentName(input.name, at: index, of: "events", seen: &firstIndex, problems: &problems) else { continue }
            let matches = mine[name] ?? []
            guard matches.count <= 1 else {
                let ids = matches.map { String($0.id.rawValue) }.joined(separator: ", ")
                problems.append(
                    .init(
                        field: "\(field).name",
                        message: "your events \(ids) are all named '\(name)': rename all but one, so the import knows which to change"
                    )
                )
                continue
            }
            do {
                if let before = matches.first {
                    var after = before
                    try after.apply(input, now: now)
                    try checkRunnable(after, before: before, by: user)
                    try await checkVariables(after)
                    try await checkServers(after)
                    try await checkMessages(after)
                    try await resolveActions(of: &after, creating: creating, creatingWorkflows: creatingWorkflows)
                    plans.append((before, after))
                } else {
                    var new = try Event.create(from: placed(input), ownerId: user.id, now: now)
                    try checkRunnable(new, before: nil, by: user)
                    try await checkVariables(new)
                    try await checkServers(new)
                    try await checkMessages(new)
                    try await resolveActions(of: &new, creating: creating, creatingWorkflows: creatingWorkflows)
                    plans.append((nil, new))
                }
            } catch let error as ValidationError {
                problems += error.problems.map { .init(field: "\(field).\($0.field)", message: $0.message) }
            }
        }
        // New events stand in with ids below zero until they are written.
        let planned = plans.enumerated().compactMap { index, plan -> Event? in
            guard plan.before == nil else { return nil }
            var event = plan.after
            event.id = EventID(-Int64(index) - 1)
            return event
        }
        var workflowPlans: [WorkflowPlan] = []
        if let workflows = document.workflows {
            (workflowPlans, problems) = try await planWorkflows(workflows, mine: myWorkflows, events: planned, by: user, problems: problems, now: now)
        }
        try ValidationError.check(problems)
        try await checkCycles(events: plans.map(\.after), planned: planned, workflows: workflowPlans)

        var report = ImportReport(dryRun: dryRun)
        if document.workflows != nil { report.workflows = Self.report(workflowPlans) }
        var new: [Event] = []
        var changed: [(before: Event, after: Event)] = []
        for plan in plans {
            guard let before = plan.before else {
                new.append(plan.after)
                continue
            }
            var compared = plan.after
            compared.updatedAt = before.updatedAt
            if compared == before {
                report.unchanged.append(.init(id: before.id, name: before.name))
            } else {
                changed.append((before, plan.after))
            }
        }
        report.updated = changed.map { .init(id: $0.after.id, name: $0.after.name) }
        guard !dryRun else {
            report.created = new.map { .init(id: nil, name: $0.name) }
            return report
        }
        let pending = (new + changed.map(\.after)).contains { ($0.actions ?? []).contains { $0.eventId == nil && $0.eventName != nil } }
        let stored = pending ? try await store.events() : []
        let workflows = pending ? try await store.workflows(ownerId: nil) : []
        var revise: (@Sendable ([Event]) throws -> [Event])?
        if pending { revise = { @Sendable saved in try Engine.resolvePendingActions(of: saved, among: stored, workflows: workflows) } }
        let inserted = try await store.saveEvents(inserting: new, updating: changed.map(\.after), revise: revise)
        report.created = inserted.map { .init(id: $0.id, name: $0.name) }
        for event in inserted { await scheduler.markChanged(.event(event.id), resetTimetable: true) }
        for (before, after) in changed { await scheduler.markChanged(.event(after.id), resetTimetable: after.timetableDiffers(from: before)) }
        if !workflowPlans.isEmpty { report.workflows = try await save(workflowPlans, by: user, now: now) }
        return report
    }
}

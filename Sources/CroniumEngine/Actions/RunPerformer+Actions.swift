import CroniumCore
import CroniumStore
import Foundation
import Logging

extension RunPerformer {
    /// After a run's final end (no retry follows): its event's actions that apply, `ALWAYS`
    /// first, then `ON_SUCCESS` or `ON_FAILURE`, then `ON_CONDITION`. Each is recorded on the run,
    /// fired or failed with why; the runs they ask for are queued in the same transaction, with
    /// this run's output as their input.
    func fireActions(after execution: Execution, of event: Event, outcome: ExecutionOutcome) async {
        let due = (event.actions ?? []).enumerated()
            .filter { $0.element.applies(to: outcome.status, condition: outcome.condition) }
            .sorted { ($0.element.when.rank, $0.offset) < ($1.element.when.rank, $1.offset) }
        guard !due.isEmpty else { return }
        let now = clock.now()
        let depth = (execution.chainDepth ?? 0) + 1
        var firings: [ActionFiring] = []
        var runs: [(position: Int, request: EnqueueRequest)] = []
        var workflows: [RunQueue.ActionStart] = []
        var deliveries: [Delivery] = []
        // What the messages' templates see: read once, for the first message that needs it.
        var context: [String: Any]?
        for (position, action) in due {
            /// Fired (or, with `error`, failed); `status` for a message on its way.
            func record(_ error: String?, status: ActionFiringStatus? = nil) {
                firings.append(
                    ActionFiring(
                        position: position,
                        when: action.when,
                        type: action.type,
                        targetEventId: action.eventId,
                        executionId: nil,
                        targetWorkflowId: action.workflowId,
                        status: status ?? (error == nil ? .fired : .failed),
                        error: error,
                        firedAt: now
                    )
                )
            }
            switch action.type {
            case .sendMessage:
                switch await message(for: action, after: execution, of: event, context: &context, at: now) {
                case .success(var delivery):
                    delivery.actionPosition = position
                    deliveries.append(delivery)
                    record(nil, status: .sending)
                case .failure(let problem):
                    record(problem.message)
                }
            case .runEvent:
                guard let targetId = action.eventId else {
                    record("the action names no event to run")
                    continue
                }
                if let problem = await problem(running: targetId, after: event, depth: depth) {
                    record(problem)
                    continue
                }
                runs.append(
                    (
                        position,
                        EnqueueRequest(
                            eventId: targetId,
                            trigger: .action,
                            runAt: now,
                            triggeredBy: execution.triggeredBy,
                            input: outcome.outputValue,
                            parentExecutionId: execution.id,
                            chainDepth: depth
                        )
                    )
                )
                record(nil)
            case .runWorkflow:
                switch await workflow(for: action, after: event, depth: depth) {
                case .success(let workflow):
                    workflows.append(.init(position: position, workflow: workflow, input: outcome.outputValue.flatMap(JSONValue.init(text:))))
                    record(nil)
                case .failure(let problem):
                    record(problem.message)
                }
            }
        }
        do {
            let (_, toStop) = try await RunQueue(queue: store).recordActions(
                of: execution.id,
                firings: firings,
                runs: runs,
                deliveries: deliveries,
                workflows: workflows,
                triggeredBy: execution.triggeredBy,
                now: now
            )
            for id in toStop { _ = try await cancel(executionId: id, reason: "replaced by a newer run (overlap policy replace)") }
            if !runs.isEmpty || !workflows.isEmpty {
                configuration.metrics.received(.action, count: runs.count)
                claims.ring()
            }
            if !deliveries.isEmpty { self.deliveries.wake() }
        } catch {
            logger.error("could not record a run's actions", metadata: ["execution.id": "\(execution.id)", "error": "\(String(reflecting: error))"])
        }
    }

    /// The message a `SEND_MESSAGE` action sends about the run that just ended, rendered, for
    /// the delivery worker; or why it cannot be sent.
    private func message(
        for action: EventAction,
        after execution: Execution,
        of event: Event,
        context: inout [String: Any]?,
        at now: Date
    ) async -> Result<Delivery, ActionProblem> {
        guard let toolName = action.tool, let template = action.message else { return .failure(ActionProblem("the action names no tool or message")) }
        do {
            let tool = try await store.messageTool(named: toolName, usableBy: event.ownerId, to: action.to, html: action.html, field: "").tool
            if context == nil {
                // The run as recorded, with its final status, exit code and log.
                let ended = try await store.execution(id: execution.id) ?? execution
                context = try await MessageTemplate.context(for: ended, of: event, in: store)
            }
            let values = context ?? [:]
            let text = try MessageTemplate.render(template, over: values, field: "message")
            let subject = try action.subject.map { try MessageTemplate.render($0, over: values, field: "subject") }
            let html = try action.html.map { try MessageTemplate.render($0, over: values, field: "html", html: true) }
            return .success(
                Delivery(
                    executionId: execution.id,
                    actionPosition: nil,
                    ownerId: event.ownerId,
                    toolName: tool.name,
                    subject: subject,
                    text: text,
                    to: action.to,
                    html: html,
                    createdAt: now
                )
            )
        } catch let error as ValidationError {
            return .failure(ActionProblem("could not send a message: \(error.problems.map { "\($0.field): \($0.message)" }.joined(separator: "; "))"))
        } catch {
            return .failure(ActionProblem("could not send a message: \(error)"))
        }
    }

    /// The workflow a `RUN_WORKFLOW` action starts after a run of `source`, or why it cannot.
    private func workflow(for action: EventAction, after source: Event, depth: Int) async -> Result<Workflow, ActionProblem> {
        guard let id = action.workflowId else { return .failure(ActionProblem("the action names no workflow to run")) }
        guard depth <= EventAction.maxChainDepth else {
            return .failure(
                ActionProblem("a chain may start at most \(EventAction.maxChainDepth) runs one after another through actions; it stops here")
            )
        }
        do {
            guard let workflow = try await store.workflow(id: id), let owner = try await store.user(id: source.ownerId), owner.canChange(workflow)
            else {
                return .failure(ActionProblem("workflow \(id) does not exist any more, or the owner of event \(source.id) may not run it"))
            }
            guard workflow.status == .active else {
                return .failure(
                    ActionProblem("workflow \(id) '\(workflow.name)' is \(workflow.status.rawValue); only ACTIVE workflows are started by actions")
                )
            }
            return .success(workflow)
        } catch {
            return .failure(ActionProblem("workflow \(id) could not be read: \(error)"))
        }
    }

    /// Why the event `targetId` cannot run after a run of `source`, or nil.
    private func problem(running targetId: EventID, after source: Event, depth: Int) async -> String? {
        guard depth <= EventAction.maxChainDepth else {
            return "a chain may start at most \(EventAction.maxChainDepth) runs one after another through actions; it stops here"
        }
        do {
            guard let target = try await store.event(id: targetId), let owner = try await store.user(id: source.ownerId), owner.canRead(target) else {
                return "event \(targetId) does not exist any more, or the owner of event \(source.id) may not see it"
            }
            guard owner.canRun(target) else { return "the owner of event \(source.id) may not run event \(targetId)" }
            if target.status == .archived { return "event \(targetId) '\(target.name)' is archived" }
            return nil
        } catch {
            return "event \(targetId) could not be read: \(error)"
        }
    }
}

/// Why an action could not fire, as recorded on it.
struct ActionProblem: Error {
    let message: String
    init(_ message: String) { self.message = message }
}

import CroniumCore
import CroniumExecutors
import CroniumStore
import Foundation

/// Runs `TOOL_ACTION` events: renders the message over the run (its input, the owner's
/// variables…), sends it through the tool with ``ToolDelivery``'s tries, and records the delivery
/// on the run. The run succeeds when the far end took the message; its exit code is the far end's
/// HTTP status.
struct ToolActionExecutor: Executor {
    let store: Database
    let cipher: SecretCipher
    let delivery: ToolDelivery

    func prepare(_ context: ExecutionContext, output: RunOutput) async throws(ExecutionError) -> any PreparedRun {
        let event = context.event
        guard let spec = event.toolAction else { throw ExecutionError(.startFailed, "the event has no toolAction") }
        do {
            guard let stored = try await store.tool(named: spec.tool, usableBy: event.ownerId) else {
                throw ExecutionError(.startFailed, "the event's owner has no tool named \(spec.tool), and no shared one has that name")
            }
            guard stored.tool.type.isHTTP else { throw ExecutionError(.startFailed, "\(stored.tool.type.rawValue) tools are not available yet") }
            guard let execution = try await store.execution(id: context.executionId) else {
                throw ExecutionError(.startFailed, "the run \(context.executionId) is not recorded")
            }
            let values = try await MessageTemplate.context(for: execution, of: event, in: store)
            let text = try MessageTemplate.render(spec.message, over: values, field: "toolAction.message")
            let subject = try spec.subject.map { try MessageTemplate.render($0, over: values, field: "toolAction.subject") }
            return Send(
                store: store, delivery: delivery, tool: stored.tool, credential: try cipher.openTool(stored.sealedCredential),
                message: Delivery(
                    executionId: context.executionId, actionPosition: nil, ownerId: event.ownerId, toolName: stored.tool.name, subject: subject, text: text,
                    createdAt: Date()))
        } catch let error as ExecutionError {
            throw error
        } catch let error as ValidationError {
            throw ExecutionError(.startFailed, error.problems.map { "\($0.field): \($0.message)" }.joined(separator: "; "))
        } catch {
            throw ExecutionError(.startFailed, "could not prepare the message: \(error)")
        }
    }

    struct Send: PreparedRun {
        let store: Database
        let delivery: ToolDelivery
        let tool: Tool
        let credential: ToolCredential
        let message: Delivery

        func run(output: RunOutput) async -> ExecutionOutcome {
            await output(.system, "sending through \(tool.name) (\(tool.type.rawValue)) to \(tool.urlHost ?? "?")")
            let id: DeliveryID
            do {
                id = try await store.recordDelivery(message)
            } catch {
                return .failure(.startFailed, "could not record the delivery: \(error)")
            }
            let result = await delivery.deliver(ToolMessage(subject: message.subject, text: message.text, status: nil), with: tool, credential: credential)
            try? await store.finishDelivery(
                id, delivered: result.delivered, attempts: result.attempts, answerStatus: result.status, answer: result.response, error: result.error, at: Date())
            await output(.system, "\(result.attempts) \(result.attempts == 1 ? "try" : "tries"); answer: \(result.status.map(String.init) ?? "none")")
            if let answer = result.response, !answer.isEmpty { await output(.stdout, lines: answer.split(separator: "\n").map(String.init)) }
            var outcome: ExecutionOutcome =
                result.delivered ? .success : .failure(result.status == nil ? .requestFailed : .httpStatus, result.error ?? "not delivered")
            outcome.exitCode = result.status
            return outcome
        }

        func teardown() async {}
    }
}

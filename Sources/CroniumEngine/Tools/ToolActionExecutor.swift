import CroniumCore
import CroniumExecutors
import CroniumStore
import Foundation

/// Runs `TOOL_ACTION` events: renders the message over the run (its input, the owner's
/// variables…), sends it through the tool with ``ToolDelivery``'s tries, and records the delivery
/// on the run. The run succeeds when the far end took the message; its exit code is the far end's
/// HTTP status, or the SMTP server's reply code.
struct ToolActionExecutor: Executor {
    let store: any Store
    let cipher: SecretCipher
    let delivery: ToolDelivery
    let limits: ToolRateLimit
    let clock: any EngineClock

    func prepare(_ context: ExecutionContext, output: RunOutput) async throws(ExecutionError) -> any PreparedRun {
        let event = context.event
        guard let spec = event.toolAction else { throw ExecutionError(.startFailed, "the event has no toolAction") }
        do {
            let stored = try await store.messageTool(named: spec.tool, usableBy: event.ownerId, to: spec.to, html: spec.html, field: "toolAction")
            guard let execution = try await store.execution(id: context.executionId) else {
                throw ExecutionError(.startFailed, "the run \(context.executionId) is not recorded")
            }
            let values = try await MessageTemplate.context(for: execution, of: event, in: store)
            let text = try MessageTemplate.render(spec.message, over: values, field: "toolAction.message")
            let subject = try spec.subject.map { try MessageTemplate.render($0, over: values, field: "toolAction.subject") }
            let html = try spec.html.map { try MessageTemplate.render($0, over: values, field: "toolAction.html", html: true) }
            return Send(
                store: store,
                delivery: delivery,
                limits: limits,
                clock: clock,
                tool: stored.tool,
                credential: try cipher.openTool(stored.sealedCredential),
                message: Delivery(
                    executionId: context.executionId,
                    actionPosition: nil,
                    ownerId: event.ownerId,
                    toolName: stored.tool.name,
                    subject: subject,
                    text: text,
                    to: spec.to,
                    html: html,
                    createdAt: Date()
                )
            )
        } catch let error as ExecutionError {
            throw error
        } catch let error as ValidationError {
            throw ExecutionError(.startFailed, error.problems.map { "\($0.field): \($0.message)" }.joined(separator: "; "))
        } catch {
            throw ExecutionError(.startFailed, "could not prepare the message: \(error)")
        }
    }

    struct Send: PreparedRun {
        let store: any Store
        let delivery: ToolDelivery
        let limits: ToolRateLimit
        let clock: any EngineClock
        let tool: Tool
        let credential: ToolCredential
        let message: Delivery

        func run(output: RunOutput, stops: StopRequests) async -> ExecutionOutcome {
            await stops.cancelling { await send(output: output) }
        }

        private func send(output: RunOutput) async -> ExecutionOutcome {
            let destination = tool.email.map { "\((message.to ?? []).joined(separator: ", ")) via \($0.host)" } ?? tool.urlHost ?? "?"
            await output(.system, "sending through \(tool.name) (\(tool.type.rawValue)) to \(destination)")
            do {
                // Only a cancel ends this wait (no limit on it).
                try await limits.take(tool, ownedBy: message.ownerId, clock: clock)
            } catch {
                return .failure(.cancelled, "stopped while waiting for the turn of tool \(tool.name)")
            }
            let id: DeliveryID
            do {
                id = try await store.recordDelivery(message)
            } catch {
                return .failure(.startFailed, "could not record the delivery: \(error)")
            }
            let result = await delivery.deliver(ToolMessage(message), with: tool, credential: credential)
            try? await store.finishDelivery(
                id,
                delivered: result.delivered,
                attempts: result.attempts,
                answerStatus: result.status,
                answer: result.response,
                error: result.error,
                at: Date()
            )
            await output(.system, "\(result.attempts) \(result.attempts == 1 ? "try" : "tries"); answer: \(result.status.map(String.init) ?? "none")")
            if let answer = result.response, !answer.isEmpty { await output(.stdout, lines: answer.split(separator: "\n").map(String.init)) }
            var outcome: ExecutionOutcome =
                result.delivered
                ? .success
                : .failure(
                    result.status == nil ? .requestFailed : tool.type == .email ? .messageRefused : .httpStatus,
                    result.error ?? "not delivered"
                )
            outcome.exitCode = result.status
            return outcome
        }

        func teardown() async {}
    }
}

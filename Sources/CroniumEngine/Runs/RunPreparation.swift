import CroniumCore
import CroniumExecutors
import CroniumStore
import Foundation
import Logging

/// What a claimed run needs before it starts: its environment (the event's, its variables',
/// Cronium's own) and the mask of its owner's secrets.
struct RunPreparation: Sendable {
    let vault: VariableVault
    let logger: Logger

    /// The run's context, and the mask its lines go through. A variable that cannot be read
    /// fails the run before it starts (`unreadable`), naming it.
    func prepare(_ started: StartedRun) async -> (context: ExecutionContext, mask: LogMask, unreadable: ExecutionError?) {
        let (event, id) = (started.event, started.execution.id)
        var environment = Self.environment(for: event, executionId: id)
        let mask: LogMask
        var unreadable: ExecutionError?
        switch await variables(of: event) {
        case .success(let variables):
            mask = variables.mask
            environment.merge(variables.environment) { _, variable in variable }
        case .failure(let error):
            (mask, unreadable) = (LogMask(secrets: []), error)
        }
        let context = ExecutionContext(
            executionId: id,
            event: event,
            attempt: started.execution.attempt,
            trigger: started.execution.trigger,
            input: started.execution.input?.text,
            environment: environment,
            deadline: .now + .seconds(event.timeoutSeconds)
        )
        return (context, mask, unreadable)
    }

    /// The values of the variables the event maps into its environment, and the mask of its
    /// owner's secrets. A variable that is gone (deleted since the event was saved) fails the run
    /// before it starts, naming it.
    private func variables(of event: Event) async -> Result<(environment: [String: String], mask: LogMask), ExecutionError> {
        do {
            let mask = LogMask(secrets: try await vault.secretValues(owner: event.ownerId))
            var environment: [String: String] = [:]
            for (name, key) in (event.variables ?? [:]).sorted(by: { $0.key < $1.key }) {
                guard let value = try await vault.value(key: key, owner: event.ownerId) else {
                    return .failure(
                        ExecutionError(.startFailed, "variables.\(name): there is no variable \(key) any more; create it again or change the event")
                    )
                }
                environment[name] = value
            }
            return .success((environment, mask))
        } catch {
            logger.error("could not read a run's variables", metadata: ["event.id": "\(event.id)", "error": "\(String(reflecting: error))"])
            return .failure(ExecutionError(.startFailed, "could not read the event's variables: \(error)"))
        }
    }

    /// The event's variables and Cronium's own; nothing of the server's environment.
    static func environment(for event: Event, executionId: ExecutionID) -> [String: String] {
        var environment = event.environment
        environment["CRONIUM_EXECUTION_ID"] = String(executionId)
        environment["CRONIUM_EVENT_ID"] = String(event.id)
        environment["CRONIUM_EVENT_NAME"] = event.name
        return environment
    }
}

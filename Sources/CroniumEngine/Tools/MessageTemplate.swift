import CroniumCore
import CroniumStore
import Foundation
import Mustache

/// A message's subject or text: a Mustache template over a run (`{{event.name}}`,
/// `{{execution.status}}`, `{{#execution.failed}}…{{/execution.failed}}`, `{{input.host}}`,
/// `{{variables.REGION}}`, `{{execution.log}}`…). Text for chat and webhooks is not HTML-escaped.
public enum MessageTemplate {
    /// `template` rendered over `context`; a template that does not parse is refused with where
    /// and why, on `field`.
    public static func render(_ template: String, over context: [String: Any], field: String, html: Bool = false) throws(ValidationError) -> String {
        do {
            return try MustacheTemplate(string: (html ? "" : "{{% CONTENT_TYPE: TEXT}}") + template).render(context)
        } catch {
            throw ValidationError(field: field, message: "is not a template Cronium can read: \(error)")
        }
    }

    /// Lines of a run's log a message may show (`{{execution.log}}`): the last ones.
    static let logLines = 20
}

extension MessageTemplate {
    /// What a message about `execution` of `event` may say, for templates: the event, the run
    /// (its status, times, output, the end of its log, its parts on servers), its input, and the
    /// owner's variables that are not secret.
    static func context(for execution: Execution, of event: Event, in store: any Store) async throws -> [String: Any] {
        let log = try await store.lastLogLines(executionId: execution.id, count: MessageTemplate.logLines).map(\.text)
        var run: [String: Any] = [
            "id": execution.id.rawValue, "status": execution.status.rawValue, "succeeded": execution.status == .success,
            "failed": execution.status != .success && execution.status.isFinal, "trigger": execution.trigger.rawValue, "attempt": execution.attempt,
            "log": log.joined(separator: "\n"), "logLines": log, "link": "/api/v1/executions/\(execution.id)",
        ]
        if let exitCode = execution.exitCode { run["exitCode"] = exitCode }
        if let duration = execution.durationMs {
            run["durationMs"] = duration
            run["duration"] = describe(milliseconds: duration)
        }
        if let startedAt = execution.startedAt { run["startedAt"] = formatISO8601(startedAt, timeZone: .gmt) }
        if let output = execution.outputValue?.text ?? execution.output { run["output"] = output }
        if let error = execution.error { run["error"] = error }
        let parts = try await store.parts(of: execution.id)
        if !parts.isEmpty {
            run["parts"] = parts.map { ["server": $0.server ?? "", "status": $0.status.rawValue, "error": $0.error ?? ""] as [String: Any] }
        }
        let variables = try await store.variables(ownerId: event.ownerId).filter { !$0.secret }
        return [
            "event": ["id": event.id.rawValue, "name": event.name, "type": event.type.rawValue, "tags": event.tags] as [String: Any],
            "execution": run,
            "input": execution.input.map(plain) ?? [String: Any](),
            "variables": Dictionary(variables.map { ($0.key, $0.storedValue) }, uniquingKeysWith: { first, _ in first }),
        ]
    }

    /// A JSON value as the dictionaries, arrays, strings and numbers a template reads.
    static func plain(_ value: JSONValue) -> Any {
        switch value {
        case .null: ""
        case .bool(let value): value
        case .integer(let value): value
        case .number(let value): value
        case .string(let value): value
        case .array(let values): values.map(plain)
        case .object(let fields): fields.mapValues(plain)
        }
    }

    /// 850 ms, 12.4 s, 3.2 min, 1.5 h.
    static func describe(milliseconds: Int) -> String {
        switch milliseconds {
        case ..<1000: "\(milliseconds) ms"
        case ..<60_000: String(format: "%.1f s", Double(milliseconds) / 1000)
        case ..<3_600_000: String(format: "%.1f min", Double(milliseconds) / 60_000)
        default: String(format: "%.1f h", Double(milliseconds) / 3_600_000)
        }
    }

}

extension Engine {
    /// `subject` and `message` rendered over a past run the user may see: what a message about
    /// it would say.
    public func previewMessage(executionId: ExecutionID, subject: String?, message: String, html: Bool = false, by user: User) async throws -> (
        subject: String?, text: String
    ) {
        let (execution, event) = try await self.execution(id: executionId, visibleTo: user)
        let context = try await MessageTemplate.context(for: execution, of: event, in: store)
        let text = try MessageTemplate.render(message, over: context, field: "message", html: html)
        return (try subject.map { try MessageTemplate.render($0, over: context, field: "subject") }, text)
    }
}

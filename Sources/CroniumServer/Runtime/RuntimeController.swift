import CroniumCore
import CroniumEngine
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// `/runtime/v1`: what a running script asks of Cronium through its helper library. Every route
/// serves the calling run only (``RuntimeAuthMiddleware`` found it).
struct RuntimeController {
    let vault: VariableVault
    let sender: ToolSender

    /// The largest output a run may set, as JSON text.
    static let maxOutputBytes = 256 << 10

    func addRoutes(to group: RouterGroup<RunRequestContext>) {
        group.get("input", use: input)
        group.post("output", use: output)
        group.post("condition", use: condition)
        group.get("context", use: runContext)
        group.get("variables/:key", use: getVariable)
        group.put("variables/:key", use: putVariable)
        group.delete("variables/:key", use: deleteVariable)
        group.post("messages", use: sendMessage)
    }

    /// `{"key", "value"}`, or the bare value for a client that accepts `text/plain` before JSON
    /// (the Bash helpers: no JSON to take apart). 404 when the run's owner has no such variable.
    @Sendable func getVariable(_ request: Request, context: RunRequestContext) async throws -> Response {
        let session = context.session
        let key = try context.parameters.require("key")
        guard let value = try await vault.value(key: key, owner: session.event.ownerId) else {
            throw Problem(.notFound, "there is no variable \(key)")
        }
        if Self.prefersText(request) {
            return Response(status: .ok, headers: [.contentType: "text/plain; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: value)))
        }
        return Self.json(String(decoding: try JSONEncoder.cronium.encode(["key": key, "value": value]), as: UTF8.self))
    }

    /// `{"value": "text"}` (another JSON value is stored as its JSON text), or a `text/plain` body.
    @Sendable func putVariable(_ request: Request, context: RunRequestContext) async throws -> HTTPResponse.Status {
        let session = context.session
        let key = try context.parameters.require("key")
        if let problem = VariableRules.problem(key: key) { throw Problem(.invalidInput, problem) }
        let data = Data(try await Self.body(of: request, limit: VariableRules.maxValueBytes + 1024).readableBytesView)
        let value: String
        if request.headers[.contentType]?.lowercased().hasPrefix("text/plain") == true {
            value = String(decoding: data, as: UTF8.self)
        } else {
            guard let body = try? JSONDecoder().decode(ValueBody.self, from: data) else {
                throw Problem(.badRequest, "send {\"value\": \"text\"} as JSON, or the value itself as text/plain")
            }
            value = body.value
        }
        do {
            try await vault.setFromRun(key: key, value: value, owner: session.event.ownerId, mask: session.mask)
        } catch let error as CroniumError where error.code == .invalidInput {
            throw Problem(.invalidInput, error.message)
        }
        return .noContent
    }

    /// Idempotent: a variable that is not there is gone already.
    @Sendable func deleteVariable(_ request: Request, context: RunRequestContext) async throws -> HTTPResponse.Status {
        let session = context.session
        _ = try await vault.deleteFromRun(key: try context.parameters.require("key"), owner: session.event.ownerId)
        return .noContent
    }

    /// A value sent as JSON: a string as it is, anything else as its JSON text.
    private struct ValueBody: Decodable {
        let value: String

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            let any = try container.decode(JSONValue.self, forKey: .value)
            if case .string(let text) = any { value = text } else { value = any.text }
        }

        enum CodingKeys: String, CodingKey { case value }
    }

    private static func prefersText(_ request: Request) -> Bool {
        guard let accept = request.headers[.accept]?.lowercased() else { return false }
        let text = accept.range(of: "text/plain")?.lowerBound
        let json = accept.range(of: "application/json")?.lowerBound
        return text != nil && (json == nil || text! < json!)
    }

    private static func body(of request: Request, limit: Int) async throws -> ByteBuffer {
        do {
            return try await request.body.collect(upTo: limit)
        } catch is NIOTooManyBytesError {
            throw Problem(.bodyTooLarge, "a variable's value has at most \(VariableRules.maxValueBytes >> 10) KiB")
        }
    }

    /// The run's input as it was given (JSON), or `null`.
    @Sendable func input(_ request: Request, context: RunRequestContext) async throws -> Response {
        Self.json(context.session.input ?? "null")
    }

    /// Any JSON value; the last one set is the run's output.
    @Sendable func output(_ request: Request, context: RunRequestContext) async throws -> HTTPResponse.Status {
        let session = context.session
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: Self.maxOutputBytes)
        } catch is NIOTooManyBytesError {
            throw Problem(
                .bodyTooLarge,
                "an output may be at most \(Self.maxOutputBytes >> 10) KiB of JSON; keep large results in a file or a variable and output where they are"
            )
        }
        let data = Data(buffer.readableBytesView)
        guard !data.isEmpty, (try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])) != nil else {
            throw Problem(.badRequest, "the output must be a JSON value (an object, array, string, number, true, false or null)")
        }
        session.setOutput(String(decoding: data, as: UTF8.self))
        return .noContent
    }

    /// `true`, `false`, or `{"condition": true|false}`.
    @Sendable func condition(_ request: Request, context: RunRequestContext) async throws -> HTTPResponse.Status {
        let session = context.session
        let data = Data(try await request.body.collect(upTo: 1024).readableBytesView)
        guard let verdict = (try? JSONDecoder().decode(Bool.self, from: data)) ?? (try? JSONDecoder().decode(Wrapped.self, from: data))?.condition
        else {
            throw Problem(.badRequest, "the condition must be true or false, sent as `true`, `false` or {\"condition\": true}")
        }
        session.setCondition(verdict)
        return .noContent
    }

    /// Sends a message through one of the owner's tools; the answer is what the far end said.
    @Sendable func sendMessage(_ request: Request, context: RunRequestContext) async throws -> DeliveryResult {
        let session = context.session
        let message = try await request.decodeJSON(as: ScriptMessage.self)
        return try await sender.send(message, from: session)
    }

    /// Which event and run this is.
    @Sendable func runContext(_ request: Request, context: RunRequestContext) async throws -> RunContext {
        let session = context.session
        return RunContext(
            eventId: session.event.id,
            eventName: session.event.name,
            eventType: session.event.type,
            executionId: session.executionId,
            attempt: session.attempt,
            trigger: session.trigger,
            scheduledFor: session.scheduledFor,
            workflow: session.workflow
        )
    }

    struct RunContext: ResponseEncodable {
        let eventId: EventID
        let eventName: String
        let eventType: EventType
        let executionId: ExecutionID
        let attempt: Int
        let trigger: ExecutionTrigger
        let scheduledFor: Date?
        /// A workflow node's run: `{id, name, runId, node}`.
        let workflow: WorkflowPlace?
    }

    private struct Wrapped: Decodable {
        let condition: Bool
    }

    static func json(_ text: String) -> Response {
        Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}

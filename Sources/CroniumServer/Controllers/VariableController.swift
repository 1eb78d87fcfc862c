import CroniumCore
import CroniumEngine
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// `/api/v1/variables`: the caller's own variables and secrets. A secret's value is never in a
/// list; one variable shows it with `?reveal=true`, an export with `?includeSecrets=true`.
struct VariableController {
    let engine: Engine

    func addRoutes(to group: RouterGroup<UserRequestContext>) {
        group.get(use: list)
        group.get("export", use: export)
        group.post("import", use: importVariables)
        group.get(":key", use: show)
        group.put(":key", use: set)
        group.delete(":key", use: delete)
    }

    @Sendable func list(_ request: Request, context: UserRequestContext) async throws -> [Variable] {
        try await engine.variables(of: context.user)
    }

    @Sendable func show(_ request: Request, context: UserRequestContext) async throws -> Variable {
        let reveal = try QueryParameters(request).flag("reveal") ?? false
        return try await engine.variable(key: try context.parameters.require("key"), of: context.user, reveal: reveal)
    }

    /// Creates (201) or changes (200) the variable; fields left out keep their stored value.
    @Sendable func set(_ request: Request, context: UserRequestContext) async throws -> EditedResponse<Variable> {
        let user = context.user
        let key = try context.parameters.require("key")
        let input = try await request.decodeJSON(as: VariableInput.self, readOnly: ["createdAt", "updatedAt"])
        let (variable, created) = try await engine.setVariable(key: key, input, by: user)
        return EditedResponse(status: created ? .created : .ok, response: variable)
    }

    @Sendable func delete(_ request: Request, context: UserRequestContext) async throws -> HTTPResponse.Status {
        try await engine.deleteVariable(key: try context.parameters.require("key"), by: context.user)
        return .noContent
    }

    /// `?format=json` (the default: `{"variables": [...]}`) or `env`; secrets only with `?includeSecrets=true`.
    @Sendable func export(_ request: Request, context: UserRequestContext) async throws -> Response {
        let query = QueryParameters(request)
        let includeSecrets = try query.flag("includeSecrets") ?? false
        let format = query.text("format") ?? "json"
        let variables = try await engine.exportVariables(of: context.user, includeSecrets: includeSecrets)
        switch format {
        case "json":
            let data = try JSONEncoder.cronium.encode(
                VariableDocument(
                    variables: variables.map {
                        VariableInput(key: $0.key, value: $0.value, secret: $0.secret ? true : nil, description: $0.description)
                    }
                )
            )
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
        case "env":
            let text = DotEnv.render(variables.map { DotEnv.Entry(key: $0.key, value: $0.value ?? "", secret: $0.secret) })
            return Response(status: .ok, headers: [.contentType: "text/plain; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: text)))
        default:
            throw Problem(.badRequest, "format must be json or env, not '\(format)'")
        }
    }

    /// A JSON document (`{"variables": [...]}` or a bare array) or, sent as `text/plain`, a
    /// `.env` file; `?secret=true` makes every imported variable a secret, `?dryRun=true` checks only.
    @Sendable func importVariables(_ request: Request, context: UserRequestContext) async throws -> VariableImportReport {
        let user = context.user
        let query = QueryParameters(request)
        let dryRun = try query.flag("dryRun") ?? false
        let allSecret = try query.flag("secret") ?? false
        let data = Data(try await request.body.collect(upTo: Request.maxJSONBytes).readableBytesView)
        var inputs: [VariableInput]
        if request.headers[.contentType]?.lowercased().hasPrefix("text/plain") == true {
            do {
                inputs = try DotEnv.parse(String(decoding: data, as: UTF8.self)).map {
                    VariableInput(key: $0.key, value: $0.value, secret: $0.secret ? true : nil)
                }
            } catch {
                throw Problem(.badRequest, "the .env file cannot be read: \(error)")
            }
        } else if data.first(where: { ![0x20, 0x09, 0x0A, 0x0D].contains($0) }) == UInt8(ascii: "[") {
            inputs = try context.requestDecoder.decode([VariableInput].self, from: data)
            try UnknownFields.refuse(try UnknownFields.find(in: data, decodedAs: inputs, readOnly: ["createdAt", "updatedAt"]) { $0.hasPrefix("[") })
        } else {
            let document = try context.requestDecoder.decode(VariableDocument.self, from: data)
            try UnknownFields.refuse(
                try UnknownFields.find(in: data, decodedAs: document, readOnly: ["createdAt", "updatedAt"]) { $0.hasPrefix("variables[") }
            )
            inputs = document.variables
        }
        if allSecret {
            inputs = inputs.map {
                var input = $0; input.secret = true; return input
            }
        }
        return try await engine.importVariables(inputs, by: user, dryRun: dryRun)
    }

    struct VariableDocument: Codable {
        var variables: [VariableInput]
    }
}

extension Variable: ResponseEncodable {}
extension VariableImportReport: ResponseEncodable {}

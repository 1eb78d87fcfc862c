import CroniumCore
import CroniumExecutors
import CroniumStore
import Foundation

/// Users' tools: what the API and the CLI call. A tool belongs to one user; an administrator may
/// share one, and then every user may send through it without seeing its credentials.
extension Engine {
    /// The user's tools and the shared ones.
    public func tools(of user: User) async throws -> [Tool] {
        try await store.tools(usableBy: user.id).map(\.tool)
    }

    public func tool(named name: String, of user: User) async throws -> Tool {
        try await storedTool(named: name, usableBy: user).tool
    }

    public func addTool(_ input: ToolInput, by user: User) async throws -> Tool {
        guard user.canCreate else { throw CroniumError.forbidden }
        var problems: [FieldProblem] = []
        if input.name == nil { problems.append(.init(field: "name", message: "is required")) }
        if input.type == nil { problems.append(.init(field: "type", message: "is required: EMAIL, SLACK, DISCORD, TEAMS or WEBHOOK")) }
        try ValidationError.check(problems)
        let now = Date()
        let blank = Tool(id: 0, name: input.name ?? "", type: input.type ?? .webhook, shared: false, createdAt: now, updatedAt: now)
        let (tool, credential) = try revised(blank, ToolCredential(), input, by: user)
        let saved = try await store.saveTool(StoredTool(tool: tool, ownerId: user.id, sealedCredential: try sealTool(credential)))
        return saved
    }

    /// Changes the fields `input` has; only the owner may.
    public func updateTool(named name: String, _ input: ToolInput, by user: User) async throws -> Tool {
        let stored = try await ownTool(named: name, by: user)
        if let type = input.type, type != stored.tool.type {
            throw ValidationError([.init(field: "type", message: "a tool keeps its type; add another tool for \(type.rawValue)")])
        }
        var (tool, credential) = try revised(stored.tool, try openTool(stored.sealedCredential), input, by: user)
        tool.updatedAt = Date()
        return try await store.saveTool(StoredTool(tool: tool, ownerId: user.id, sealedCredential: try sealTool(credential)))
    }

    public func deleteTool(named name: String, by user: User) async throws {
        _ = try await ownTool(named: name, by: user)
        guard try await store.deleteTool(ownerId: user.id, name: name) else { throw Self.noTool(name) }
    }

    /// Sends a test message through the tool and says what the far end answered.
    public func testTool(named name: String, by user: User) async throws -> DeliveryResult {
        let stored = try await storedTool(named: name, usableBy: user)
        let message = ToolMessage(
            subject: "Cronium test message", text: "This is a test message from Cronium, sent through the tool \(name) by \(user.username).", status: .success)
        return await ToolDelivery(policy: configuration.toolDelivery).deliver(message, with: stored.tool, credential: try openTool(stored.sealedCredential))
    }

    /// `tool` and `credential` with the fields of `input` applied and checked.
    private func revised(_ tool: Tool, _ credential: ToolCredential, _ input: ToolInput, by user: User) throws -> (Tool, ToolCredential) {
        var (tool, credential) = (tool, credential)
        if let name = input.name { tool.name = name }
        if let shared = input.shared {
            guard !shared || user.role == .admin else {
                throw CroniumError(.forbidden, "only administrators may share a tool: every user could send through it")
            }
            tool.shared = shared
        }
        if tool.type == .email {
            throw ValidationError([.init(field: "type", message: "EMAIL tools are not available yet: SMTP delivery comes with the next step of tool actions; SLACK, DISCORD, TEAMS and WEBHOOK work")])
        }
        if let url = input.url {
            credential.url = url
            tool.urlHost = URLComponents(string: url)?.host
        }
        if let method = input.method { tool.method = method.uppercased() }
        if let headers = input.headers {
            credential.headers = headers.isEmpty ? nil : headers
            tool.headerNames = headers.isEmpty ? nil : headers.keys.sorted()
        }
        if let secret = input.signingSecret {
            credential.signingSecret = secret.isEmpty ? nil : secret
        }
        if tool.type == .webhook { tool.signed = credential.signingSecret != nil }
        var problems = ToolRules.problems(tool, credential)
        for field in ["host", "port", "security", "authentication", "username", "password", "from"] where Self.hasEmailField(input, field) {
            problems.append(.init(field: field, message: "applies to EMAIL tools only"))
        }
        try ValidationError.check(problems)
        return (tool, credential)
    }

    private static func hasEmailField(_ input: ToolInput, _ field: String) -> Bool {
        switch field {
        case "host": input.host != nil
        case "port": input.port != nil
        case "security": input.security != nil
        case "authentication": input.authentication != nil
        case "username": input.username != nil
        case "password": input.password != nil
        default: input.from != nil
        }
    }

    func sealTool(_ credential: ToolCredential) throws -> String { try vault.cipher.sealTool(credential) }

    func openTool(_ sealed: String) throws -> ToolCredential { try vault.cipher.openTool(sealed) }

    func storedTool(named name: String, usableBy user: User) async throws -> StoredTool {
        guard let stored = try await store.tool(named: name, usableBy: user.id) else { throw Self.noTool(name) }
        return stored
    }

    /// The user's own tool `name`: a shared tool of someone else's is seen, not changed.
    private func ownTool(named name: String, by user: User) async throws -> StoredTool {
        guard user.canCreate else { throw CroniumError.forbidden }
        let stored = try await storedTool(named: name, usableBy: user)
        guard stored.ownerId == user.id else { throw CroniumError(.forbidden, "tool \(name) is shared by its owner: only they may change it") }
        return stored
    }

    static func noTool(_ name: String) -> CroniumError { CroniumError(.notFound, "you have no tool named \(name), and no shared one has that name") }
}

extension SecretCipher {
    /// A tool's credential as one sealed value.
    func sealTool(_ credential: ToolCredential) throws -> String {
        try seal(String(decoding: try JSONEncoder().encode(credential), as: UTF8.self))
    }

    func openTool(_ sealed: String) throws -> ToolCredential {
        try JSONDecoder().decode(ToolCredential.self, from: Data(try open(sealed).utf8))
    }
}

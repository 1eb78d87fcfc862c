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

    /// The newest messages sent through a tool the user may use: their own runs' (an
    /// administrator: everyone's).
    public func deliveries(ofTool name: String, visibleTo user: User, limit: Int) async throws -> [Delivery] {
        let tool = try await tool(named: name, of: user)
        return try await store.deliveries(toolName: tool.name, ownerId: user.role == .admin ? nil : user.id, limit: limit)
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
        defer { vault.forgetSecrets(of: user.id) }
        return try await store.saveTool(StoredTool(tool: tool, ownerId: user.id, sealedCredential: try sealTool(credential)))
    }

    /// Changes the fields `input` has; only the owner may.
    public func updateTool(named name: String, _ input: ToolInput, by user: User) async throws -> Tool {
        let stored = try await ownTool(named: name, by: user)
        if let type = input.type, type != stored.tool.type {
            throw ValidationError([.init(field: "type", message: "a tool keeps its type; add another tool for \(type.rawValue)")])
        }
        var (tool, credential) = try revised(stored.tool, try openTool(stored.sealedCredential), input, by: user)
        tool.updatedAt = Date()
        defer { vault.forgetSecrets(of: user.id) }
        return try await store.saveTool(StoredTool(tool: tool, ownerId: user.id, sealedCredential: try sealTool(credential)))
    }

    public func deleteTool(named name: String, by user: User) async throws {
        _ = try await ownTool(named: name, by: user)
        defer { vault.forgetSecrets(of: user.id) }
        guard try await store.deleteTool(ownerId: user.id, name: name) else { throw Self.noTool(name) }
    }

    /// Sends a test message through the tool and says what the far end answered; an email goes
    /// to `to`, or else to the tool's own sender.
    public func testTool(named name: String, to: [String]? = nil, by user: User) async throws -> DeliveryResult {
        let stored = try await storedTool(named: name, usableBy: user)
        let recipients = to ?? stored.tool.email.map { [$0.from] }
        try ValidationError.check(ToolRules.messageProblems(through: stored.tool, to: recipients, html: nil, field: ""))
        let message = ToolMessage(
            subject: "Cronium test message",
            text: "This is a test message from Cronium, sent through the tool \(name) by \(user.username).",
            status: .success,
            to: recipients ?? []
        )
        return await ToolDelivery(policy: configuration.toolDelivery).deliver(
            message,
            with: stored.tool,
            credential: try openTool(stored.sealedCredential)
        )
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
        var problems: [FieldProblem] = []
        if tool.type == .email {
            (tool.email, credential.password, problems) = Self.revisedEmail(tool.email, credential.password, input)
        } else {
            for field in ["host", "port", "security", "authentication", "username", "password", "from", "trustedCertificate"]
            where Self.hasEmailField(input, field) {
                problems.append(.init(field: field, message: "applies to EMAIL tools only"))
            }
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
        try ValidationError.check(problems + ToolRules.problems(tool, credential))
        return (tool, credential)
    }

    /// An email tool's settings and password with `input` applied. The port follows the security
    /// unless it was chosen; a username without a mechanism logs in with PLAIN; a username of ""
    /// stops logging in.
    private static func revisedEmail(_ settings: EmailSettings?, _ password: String?, _ input: ToolInput) -> (EmailSettings, String?, [FieldProblem])
    {
        var email = settings ?? EmailSettings(host: "", port: 0, security: .startTLS, authentication: nil, username: nil, from: "")
        var password = password
        let usualPort = settings.map { $0.port == EmailSettings.defaultPort(for: $0.security) } ?? true
        if let host = input.host { email.host = host.trimmingCharacters(in: .whitespaces) }
        if let security = input.security { email.security = security }
        if let port = input.port { email.port = port } else if usualPort { email.port = EmailSettings.defaultPort(for: email.security) }
        if let from = input.from { email.from = from }
        if let username = input.username {
            email.username = username.isEmpty ? nil : username
            if username.isEmpty { (email.authentication, password) = (nil, nil) }
        }
        if let mechanism = input.authentication { email.authentication = mechanism }
        if email.username != nil, email.authentication == nil { email.authentication = .plain }
        if let secret = input.password { password = secret.isEmpty ? nil : secret }
        var problems: [FieldProblem] = []
        if let pem = input.trustedCertificate {
            email.trustedCertificate = pem.isEmpty ? nil : pem
            if let problem = ToolDelivery.certificateProblem(pem), !pem.isEmpty {
                problems.append(.init(field: "trustedCertificate", message: problem))
            }
        }
        return (email, password, problems)
    }

    private static func hasEmailField(_ input: ToolInput, _ field: String) -> Bool {
        switch field {
        case "host": input.host != nil
        case "port": input.port != nil
        case "security": input.security != nil
        case "authentication": input.authentication != nil
        case "username": input.username != nil
        case "password": input.password != nil
        case "trustedCertificate": input.trustedCertificate != nil
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

extension ToolStore {
    /// The tool `name` that `owner` may send a message through (their own first, then a shared
    /// one), checked against the message's recipients and HTML: the one lookup of events' actions
    /// and `TOOL_ACTION` runs, when they are saved and when they send.
    func messageTool(named name: String, usableBy owner: UserID, to: [String]?, html: String?, field: String) async throws -> StoredTool {
        guard let stored = try await tool(named: name, usableBy: owner) else {
            throw ValidationError(
                field: "\(field).tool",
                message: "there is no tool \(name) (of the event's owner, or shared); add it with `cronium tool add` first"
            )
        }
        try ValidationError.check(ToolRules.messageProblems(through: stored.tool, to: to, html: html, field: field))
        return stored
    }
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

/// Sends scripts' messages (the runtime helpers' `send_*`): built beside the runtime API, before
/// the engine, from the store and the cipher the engine shares.
public struct ToolSender: Sendable {
    let store: any Store
    let cipher: SecretCipher
    let delivery: ToolDelivery
    let limits: ToolRateLimit
    let clock: any EngineClock

    /// Tries and waits stay under the 30 s a helper waits (``ToolDelivery/Policy/forScripts``).
    public init(vault: VariableVault, limits: ToolRateLimit, clock: any EngineClock = SystemClock()) {
        self.clock = clock
        self.store = vault.store
        self.cipher = vault.cipher
        self.delivery = ToolDelivery(policy: .forScripts)
        self.limits = limits
    }

    /// Sends a script's message through a tool of the run's owner (or a shared one), at once,
    /// and records the delivery on the run. The credentials never reach the script; a message
    /// the far end did not take is a ``CroniumError/Code/deliveryFailed`` with its answer.
    public func send(_ message: ScriptMessage, from session: RuntimeSession) async throws -> DeliveryResult {
        let owner = session.event.ownerId
        let stored: StoredTool
        if let name = message.tool {
            guard let found = try await store.tool(named: name, usableBy: owner) else { throw Engine.noTool(name) }
            stored = found
        } else if let type = message.type {
            let usable = try await store.tools(usableBy: owner).filter { $0.tool.type == type }
            let own = usable.filter { $0.ownerId == owner }
            guard let only = (own.isEmpty ? usable : own).first, (own.isEmpty ? usable : own).count == 1 else {
                if usable.isEmpty {
                    throw CroniumError(.notFound, "there is no \(type.rawValue) tool to send through; add one with `cronium tool add`")
                }
                let names = (own.isEmpty ? usable : own).map(\.tool.name).joined(separator: ", ")
                throw CroniumError(.conflict, "there are several \(type.rawValue) tools (\(names)): name the one to send through")
            }
            stored = only
        } else {
            throw ValidationError(field: "tool", message: "name the tool to send through")
        }
        if let type = message.type, type != stored.tool.type {
            throw CroniumError(.conflict, "tool \(stored.tool.name) is a \(stored.tool.type.rawValue) tool, not \(type.rawValue)")
        }
        let (subject, text, to, html) = try message.content()
        try ValidationError.check(ToolRules.messageProblems(through: stored.tool, to: to, html: html, field: ""))
        // A script waits a little for its turn; longer, and it is told to come back (the helpers do).
        try await limits.take(stored.tool, ownedBy: owner, clock: clock, waitingAtMost: limits.scriptWait)
        let record = Delivery(
            executionId: session.executionId,
            actionPosition: nil,
            ownerId: owner,
            toolName: stored.tool.name,
            subject: subject,
            text: text,
            to: to,
            html: html,
            createdAt: Date()
        )
        let id = try await store.recordDelivery(record)
        let result = await delivery.deliver(ToolMessage(record), with: stored.tool, credential: try cipher.openTool(stored.sealedCredential))
        try await store.finishDelivery(
            id,
            delivered: result.delivered,
            attempts: result.attempts,
            answerStatus: result.status,
            answer: result.response,
            error: result.error,
            at: Date()
        )
        if let error = result.error { throw CroniumError(.deliveryFailed, "tool \(stored.tool.name): \(error)") }
        return result
    }
}

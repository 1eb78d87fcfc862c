import Foundation

public typealias ToolID = Identifier<Tool>

/// Where a tool delivers messages.
public enum ToolType: String, ClosedSetCodable, Sendable {
    case email = "EMAIL"
    case slack = "SLACK"
    case discord = "DISCORD"
    case teams = "TEAMS"
    case webhook = "WEBHOOK"

    /// The tools that post JSON to a URL.
    public var isHTTP: Bool { self != .email }
}

/// How an SMTP connection is secured.
public enum SMTPSecurity: String, ClosedSetCodable, Sendable {
    /// Plain text: for a relay on this machine or a trusted network only.
    case none = "NONE"
    /// Plain, then upgraded with STARTTLS before anything else is said (port 587).
    case startTLS = "STARTTLS"
    /// TLS from the first byte (port 465).
    case tls = "TLS"
}

public enum SMTPAuthentication: String, ClosedSetCodable, Sendable {
    case plain = "PLAIN"
    case login = "LOGIN"
}

/// A way to send messages: an SMTP account or a webhook URL, with its credentials sealed at rest
/// (the URL of a Slack, Discord or Teams webhook is a credential: whoever has it can post). What
/// is shown never holds them.
public struct Tool: Codable, Sendable, Equatable {
    public var id: ToolID
    public var name: String
    public var type: ToolType
    /// Shared tools (administrators' only) may be used by every user; their credentials stay hidden.
    public var shared: Bool
    /// `EMAIL`: the SMTP server and the sender.
    public var email: EmailSettings?
    /// `WEBHOOK`: the method, the names of its extra headers (their values are credentials), and
    /// whether deliveries are signed.
    public var method: String?
    public var headerNames: [String]?
    public var signed: Bool?
    /// The webhook URL's host, to tell tools apart without showing the URL.
    public var urlHost: String?
    public var createdAt: Date
    public var updatedAt: Date

    public init(
        id: ToolID,
        name: String,
        type: ToolType,
        shared: Bool,
        email: EmailSettings? = nil,
        method: String? = nil,
        headerNames: [String]? = nil,
        signed: Bool? = nil,
        urlHost: String? = nil,
        createdAt: Date,
        updatedAt: Date
    ) {
        self.id = id
        self.name = name
        self.type = type
        self.shared = shared
        self.email = email
        self.method = method
        self.headerNames = headerNames
        self.signed = signed
        self.urlHost = urlHost
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

public struct EmailSettings: Codable, Sendable, Equatable {
    public var host: String
    public var port: Int
    public var security: SMTPSecurity
    /// Nil: the server takes mail without logging in.
    public var authentication: SMTPAuthentication?
    public var username: String?
    /// The sender, `name@example.com` or `Name <name@example.com>`.
    public var from: String
    /// A CA certificate (PEM) trusted besides the system's, for a server with a private CA.
    public var trustedCertificate: String?

    public init(
        host: String,
        port: Int,
        security: SMTPSecurity,
        authentication: SMTPAuthentication?,
        username: String?,
        from: String,
        trustedCertificate: String? = nil
    ) {
        self.host = host
        self.port = port
        self.security = security
        self.authentication = authentication
        self.username = username
        self.from = from
        self.trustedCertificate = trustedCertificate
    }

    /// The usual port for each security: 25, 587 (STARTTLS), 465 (TLS).
    public static func defaultPort(for security: SMTPSecurity) -> Int {
        switch security {
        case .none: 25
        case .startTLS: 587
        case .tls: 465
        }
    }
}

/// The fields a client sends to add or change a tool; secrets go in here and never come out.
public struct ToolInput: Codable, Sendable, Equatable {
    public var name: String?
    public var type: ToolType?
    public var shared: Bool?
    // Webhook tools.
    public var url: String?
    public var method: String?
    public var headers: [String: String]?
    /// `WEBHOOK`: signs each delivery (`X-Cronium-Signature`); "" removes it.
    public var signingSecret: String?
    // Email.
    public var host: String?
    public var port: Int?
    public var security: SMTPSecurity?
    public var authentication: SMTPAuthentication?
    public var username: String?
    public var password: String?
    public var from: String?
    /// `EMAIL`: a CA certificate (PEM) to trust besides the system's; "" removes it.
    public var trustedCertificate: String?

    public init() {}
}

/// What a tool's credentials are, sealed together in one value.
public struct ToolCredential: Codable, Sendable, Equatable {
    public var url: String?
    public var headers: [String: String]?
    public var signingSecret: String?
    public var password: String?

    public init(url: String? = nil, headers: [String: String]? = nil, signingSecret: String? = nil, password: String? = nil) {
        self.url = url
        self.headers = headers
        self.signingSecret = signingSecret
        self.password = password
    }
}

/// The rules every tool follows, wherever it is set.
public enum ToolRules {
    public static let methods = ["POST", "PUT", "PATCH"]

    /// Each field's problem in a tool as it would be stored, with its credential.
    public static func problems(_ tool: Tool, _ credential: ToolCredential) -> [FieldProblem] {
        var p: [FieldProblem] = []
        if tool.name.isEmpty || tool.name.count > 64 || !tool.name.allSatisfy({ $0.isLetter || $0.isNumber || "._-".contains($0) }) {
            p.append(.init(field: "name", message: "'\(tool.name)' is not a tool name: 1 to 64 letters, digits, '.', '_' or '-' (like ops-slack)"))
        }
        if tool.type.isHTTP {
            if let url = credential.url {
                if let problem = urlProblem(url) { p.append(.init(field: "url", message: problem)) }
            } else {
                p.append(.init(field: "url", message: "a \(tool.type.rawValue) tool needs the URL to post to"))
            }
        }
        if tool.type == .webhook {
            if let method = tool.method, !methods.contains(method) {
                p.append(.init(field: "method", message: "must be one of \(methods.joined(separator: ", ")), not \(method)"))
            }
            for (name, value) in (credential.headers ?? [:]).sorted(by: { $0.key < $1.key }) {
                if name.isEmpty
                    || !name.unicodeScalars.allSatisfy({
                        $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "-_".unicodeScalars.contains($0))
                    })
                {
                    p.append(.init(field: "headers.\(name)", message: "is not a header name (letters, digits, '-')"))
                } else if value.contains(where: { $0 == "\r" || $0 == "\n" }) {
                    p.append(.init(field: "headers.\(name)", message: "a header's value must be one line"))
                } else if name.lowercased().hasPrefix("x-cronium-") || ["content-type", "content-length", "host"].contains(name.lowercased()) {
                    p.append(.init(field: "headers.\(name)", message: "is set by Cronium"))
                }
            }
        } else {
            if tool.method != nil { p.append(.init(field: "method", message: "applies to WEBHOOK tools only")) }
            if credential.headers != nil { p.append(.init(field: "headers", message: "applies to WEBHOOK tools only")) }
            if credential.signingSecret != nil { p.append(.init(field: "signingSecret", message: "applies to WEBHOOK tools only")) }
        }
        if let email = tool.email {
            if email.host.isEmpty {
                p.append(.init(field: "host", message: "is required: the SMTP server's host name, like smtp.example.com"))
            } else if email.host.contains(where: { $0.isWhitespace || "/@".contains($0) }) {
                p.append(.init(field: "host", message: "'\(email.host)' is not a host name or address"))
            }
            if !(1...65535).contains(email.port) { p.append(.init(field: "port", message: "must be 1 to 65535, not \(email.port)")) }
            if email.from.isEmpty {
                p.append(.init(field: "from", message: "is required: the sender, like alerts@example.com or Cronium <alerts@example.com>"))
            } else if address(in: email.from) == nil || email.from.contains(where: { $0.isNewline }) {
                p.append(.init(field: "from", message: "'\(email.from)' is not an address (name@example.com or Name <name@example.com>)"))
            }
            if email.authentication != nil && (email.username ?? "").isEmpty {
                p.append(.init(field: "username", message: "logging in needs a username"))
            }
            if email.authentication != nil && credential.password == nil {
                p.append(.init(field: "password", message: "logging in needs a password"))
            }
            if email.security == .none, email.authentication != nil, !["localhost", "127.0.0.1", "::1"].contains(email.host) {
                p.append(
                    .init(
                        field: "security",
                        message: "logging in with security NONE would send the password to \(email.host) in clear text; use STARTTLS or TLS"
                    )
                )
            }
        } else if tool.type == .email {
            p.append(.init(field: "host", message: "an EMAIL tool needs its SMTP server: host, port, security and from"))
        }
        if tool.type != .email, tool.email != nil || credential.password != nil {
            p.append(.init(field: credential.password != nil ? "password" : "host", message: "applies to EMAIL tools only"))
        }
        return p
    }

    /// Why `url` cannot be posted to, if it cannot.
    public static func urlProblem(_ url: String) -> String? {
        guard let parsed = URLComponents(string: url), let scheme = parsed.scheme?.lowercased(), ["http", "https"].contains(scheme),
            let host = parsed.host,
            !host.isEmpty
        else { return "'\(redacted(url))' is not an http(s) URL" }
        return nil
    }

    /// The address part of `Name <name@example.com>` or `name@example.com`, if it is one.
    public static func address(in text: String) -> String? {
        var address = text.trimmingCharacters(in: .whitespaces)
        if let open = address.lastIndex(of: "<"), address.hasSuffix(">") {
            address = String(address[address.index(after: open)..<address.index(before: address.endIndex)])
        }
        let parts = address.split(separator: "@", omittingEmptySubsequences: false)
        // Printable ASCII only: an address with other characters needs SMTPUTF8, which Cronium does not speak.
        guard parts.count == 2, !parts[0].isEmpty, parts[1].contains("."),
            address.unicodeScalars.allSatisfy({ (0x21...0x7E).contains($0.value) && !"<>,;\"".unicodeScalars.contains($0) })
        else {
            return nil
        }
        return address
    }

    /// The most recipients one email may have.
    public static let maxRecipients = 50

    /// What is wrong with sending a message with recipients `to` and HTML `html` through `tool`:
    /// an email needs its recipients; the other tools take neither.
    public static func messageProblems(through tool: Tool, to: [String]?, html: String?, field: String) -> [FieldProblem] {
        let prefix = field.isEmpty ? "" : field + "."
        guard tool.type == .email else {
            return [("to", to != nil), ("html", html != nil)].filter(\.1).map {
                FieldProblem(field: prefix + $0.0, message: "applies to EMAIL tools only; \(tool.name) is a \(tool.type.rawValue) tool")
            }
        }
        guard let to, !to.isEmpty else {
            return [FieldProblem(field: prefix + "to", message: "an email through \(tool.name) needs its recipients, like [\"ops@example.com\"]")]
        }
        var problems = to.filter { address(in: $0) == nil || $0.contains(where: { $0.isNewline }) }.map {
            FieldProblem(field: prefix + "to", message: "'\($0)' is not an address (name@example.com or Name <name@example.com>)")
        }
        if to.count > maxRecipients { problems.append(.init(field: prefix + "to", message: "at most \(maxRecipients) recipients, not \(to.count)")) }
        return problems
    }

    /// A URL for messages: its scheme and host, the rest hidden (a webhook's path is its secret).
    public static func redacted(_ url: String) -> String {
        guard let parsed = URLComponents(string: url), let scheme = parsed.scheme, let host = parsed.host else { return "…" }
        return "\(scheme)://\(host)\(parsed.port.map { ":\($0)" } ?? "")/…"
    }
}

/// Where a tool's test message goes: an email tool's recipients (its own sender when left out).
public struct ToolTestInput: Codable, Sendable, Equatable {
    public var to: [String]?

    public init(to: [String]? = nil) { self.to = to }
}

/// What a script asks to send through the runtime helpers: through the tool it names, or else its
/// owner's one tool of `type`.
public struct ScriptMessage: Codable, Sendable, Equatable {
    public var tool: String?
    public var type: ToolType?
    public var subject: String?
    public var message: String?
    /// Email: the recipients and an HTML alternative.
    public var to: [String]?
    public var html: String?
    /// The predecessor's `execute_tool_action(tool, action, params)`: action `send` with params
    /// `{message (or text, content, body), subject (or title), to, html}`.
    public var action: String?
    public var params: JSONValue?

    public init(tool: String? = nil, type: ToolType? = nil, subject: String? = nil, message: String?, to: [String]? = nil, html: String? = nil) {
        self.tool = tool
        self.type = type
        self.subject = subject
        self.message = message
        self.to = to
        self.html = html
    }

    public static let sendActions: Set<String> = ["send", "send-message", "send-email", "slack-send-message", "discord-send-message"]

    /// What to send, from the fields or from an action's params.
    public func content() throws(ValidationError) -> (subject: String?, text: String, to: [String]?, html: String?) {
        guard let action else {
            guard let message, !message.isEmpty else { throw ValidationError(field: "message", message: "is required") }
            return (subject, message, to, html)
        }
        guard Self.sendActions.contains(action) else {
            throw ValidationError(field: "action", message: "'\(action)' is not a tool action here; use \"send\" with {\"message\", \"subject\"}")
        }
        guard case .object(let fields) = params ?? .null else {
            throw ValidationError(field: "params", message: "must be an object with a \"message\"")
        }
        func text(_ names: [String]) -> String? {
            for name in names { if case .string(let value) = fields[name] { return value } }
            return nil
        }
        guard let body = text(["message", "text", "content", "body"]), !body.isEmpty else {
            throw ValidationError(field: "params.message", message: "is required")
        }
        var recipients: [String]?
        switch fields["to"] {
        case .string(let one): recipients = [one]
        case .array(let many): recipients = many.compactMap { if case .string(let one) = $0 { one } else { nil } }
        default: recipients = nil
        }
        return (text(["subject", "title"]), body, recipients, text(["html"]))
    }
}

/// What a `TOOL_ACTION` event sends: through which tool, and the message (templates over the
/// run: its input, the owner's variables…); an email's recipients and HTML alternative.
public struct ToolActionSpec: Codable, Sendable, Equatable {
    public var tool: String
    public var subject: String?
    public var message: String
    public var to: [String]?
    public var html: String?

    public init(tool: String, subject: String? = nil, message: String, to: [String]? = nil, html: String? = nil) {
        self.tool = tool
        self.subject = subject
        self.message = message
        self.to = to
        self.html = html
    }
}

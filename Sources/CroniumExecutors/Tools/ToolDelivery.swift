import AsyncHTTPClient
import CroniumCore
import Crypto
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// A message ready to go out: rendered, with its subject (a card's title) and the run's status,
/// which colours Slack, Discord and Teams cards; an email's recipients and HTML alternative.
public struct ToolMessage: Sendable, Equatable {
    public var subject: String?
    public var text: String
    public var status: ExecutionStatus?
    public var to: [String]
    public var html: String?

    public init(subject: String? = nil, text: String, status: ExecutionStatus? = nil, to: [String] = [], html: String? = nil) {
        self.subject = subject
        self.text = text
        self.status = status
        self.to = to
        self.html = html
    }

    /// What `delivery` recorded, about a run that ended with `status`.
    public init(_ delivery: Delivery, status: ExecutionStatus? = nil) {
        self.init(subject: delivery.subject, text: delivery.text, status: status, to: delivery.to ?? [], html: delivery.html)
    }
}

/// Posts messages to Slack, Discord and Teams webhooks and to plain webhooks (signed with
/// HMAC-SHA256 when the tool has a secret), and mails them through an SMTP server. A connection
/// error, a 5xx or a 429 is tried again with backoff (a 429's `Retry-After` is honoured up to
/// ``Policy/longestWait``); any other answer of 400 or more fails the delivery with what the far
/// end said. For email, a 4xx answer is tried again and a 5xx is final.
public struct ToolDelivery: Sendable {
    public struct Policy: Sendable {
        public var attempts = 4
        public var backoff: Duration = .seconds(1)
        /// The longest `Retry-After` waited for; a longer one fails the delivery, naming it.
        public var longestWait: Duration = .seconds(60)
        public var timeout: Duration = .seconds(15)

        public init() {}

        /// For a script waiting on its helper (30 s): every try and wait together stay under it,
        /// so a helper that gives up never sends the message a second time.
        public static var forScripts: Policy {
            var policy = Policy()
            (policy.attempts, policy.timeout, policy.longestWait) = (3, .seconds(8), .seconds(8))
            return policy
        }
    }

    let client: HTTPClient
    public let policy: Policy
    /// The most of an answer kept for the record.
    static let responseBytes = 2048

    /// Tries are counted here: a refused connection fails its try at once, instead of the client
    /// trying to connect again until the try's deadline.
    public static let client: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.timeout.connect = .seconds(5)
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }()

    public init(client: HTTPClient = ToolDelivery.client, policy: Policy = Policy()) {
        self.client = client
        self.policy = policy
    }

    /// Sends `message` through `tool`. Never throws: a failure is in the result.
    public func deliver(_ message: ToolMessage, with tool: Tool, credential: ToolCredential) async -> DeliveryResult {
        if tool.type == .email { return await mail(message, with: tool, password: credential.password) }
        guard let url = credential.url else { return DeliveryResult(attempts: 0, error: "tool \(tool.name) has no URL") }
        let body = Self.payload(message, for: tool.type)
        var result = DeliveryResult(attempts: 0)
        while result.attempts < policy.attempts {
            result.attempts += 1
            var request = HTTPClientRequest(url: url)
            request.method = HTTPMethod(rawValue: tool.type == .webhook ? tool.method ?? "POST" : "POST")
            request.headers.add(name: "Content-Type", value: "application/json")
            request.headers.add(name: "User-Agent", value: "Cronium")
            if tool.type == .webhook {
                for (name, value) in (credential.headers ?? [:]).sorted(by: { $0.key < $1.key }) { request.headers.add(name: name, value: value) }
                if let secret = credential.signingSecret {
                    let timestamp = String(Int(Date().timeIntervalSince1970))
                    request.headers.add(name: "X-Cronium-Timestamp", value: timestamp)
                    request.headers.add(name: "X-Cronium-Signature", value: Self.signature(of: body, at: timestamp, secret: secret))
                }
            }
            request.body = .bytes(ByteBuffer(bytes: body))
            var wait = policy.backoff * (1 << (result.attempts - 1))
            do {
                let response = try await client.execute(request, timeout: .nanoseconds(Int64(policy.timeout.components.seconds) * 1_000_000_000))
                let answer = try await response.body.collect(upTo: 1 << 20)
                result.status = Int(response.status.code)
                result.response = String(String(buffer: answer).prefix(Self.responseBytes))
                let code = Int(response.status.code)
                if code < 300 {
                    result.error = nil
                    return result
                }
                result.error =
                    "\(ToolRules.redacted(url)) answered \(code) \(response.status.reasonPhrase)\(result.response.map { $0.isEmpty ? "" : ": \($0)" } ?? "")"
                guard code == 429 || code >= 500 else { return result }
                if code == 429, let retryAfter = response.headers.first(name: "Retry-After").flatMap(Self.seconds) {
                    guard retryAfter <= policy.longestWait else {
                        result.error! += " (it asks to wait \(retryAfter), longer than Cronium waits)"
                        return result
                    }
                    wait = retryAfter
                }
            } catch {
                result.status = nil
                result.response = nil
                result.error = "could not reach \(ToolRules.redacted(url)): \(Self.reason(error))"
            }
            if result.attempts < policy.attempts { try? await Task.sleep(for: wait) }
        }
        result.error = (result.error ?? "failed") + " (after \(result.attempts) \(result.attempts == 1 ? "try" : "tries"))"
        return result
    }

    /// Sends an email; the result's status is the SMTP server's last reply code.
    func mail(_ message: ToolMessage, with tool: Tool, password: String?) async -> DeliveryResult {
        guard let settings = tool.email else { return DeliveryResult(attempts: 0, error: "tool \(tool.name) has no SMTP server") }
        guard !message.to.isEmpty else { return DeliveryResult(attempts: 0, error: "an email needs at least one recipient (to)") }
        let client = SMTPClient(settings: settings, password: password, timeout: policy.timeout)
        // Each address once, however often it was given.
        var seen = Set<String>()
        let recipients = message.to.filter { seen.insert((ToolRules.address(in: $0) ?? $0).lowercased()).inserted }
        let mail = MailMessage(from: settings.from, to: recipients, subject: message.subject ?? "Cronium", text: message.text, html: message.html)
        var result = DeliveryResult(attempts: 0)
        while result.attempts < policy.attempts {
            result.attempts += 1
            do {
                let accepted = try await client.send(mail)
                (result.status, result.response, result.error) = (accepted.code, String(accepted.message.prefix(Self.responseBytes)), nil)
                return result
            } catch {
                (result.status, result.response, result.error) = (
                    error.reply?.code, error.reply.map { String($0.message.prefix(Self.responseBytes)) }, error.description
                )
                guard error.transient else { return result }
            }
            if result.attempts < policy.attempts { try? await Task.sleep(for: policy.backoff * (1 << (result.attempts - 1))) }
        }
        result.error = (result.error ?? "failed") + " (after \(result.attempts) \(result.attempts == 1 ? "try" : "tries"))"
        return result
    }

    /// Why a connection failed, in a few words (the system's for a refused or reset connection).
    static func reason(_ error: any Error) -> String {
        if let error = error as? IOError { return String(cString: strerror(error.errnoCode)) }
        if let error = error as? NIOConnectionError, let first = error.connectionErrors.first { return reason(first.error) }
        if let error = error as? HTTPClientError, error == .deadlineExceeded || error == .connectTimeout { return "no answer in time" }
        return "\(error)"
    }

    /// Why `pem` cannot be an email tool's trusted certificate, if it cannot.
    public static func certificateProblem(_ pem: String) -> String? { SMTPClient.certificateProblem(pem) }

    /// `Retry-After` in seconds (the HTTP-date form is read as a wait of its own).
    static func seconds(_ header: String) -> Duration? {
        if let seconds = Int(header.trimmingCharacters(in: .whitespaces)), seconds >= 0 { return .seconds(seconds) }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        guard let date = formatter.date(from: header) else { return nil }
        return .milliseconds(max(0, Int(date.timeIntervalSinceNow * 1000)))
    }

    /// `sha256=` and the hex HMAC-SHA256 of `timestamp.body` under `secret`: what a receiver
    /// computes again to know the delivery is Cronium's and fresh.
    public static func signature(of body: [UInt8], at timestamp: String, secret: String) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Array("\(timestamp).".utf8) + body, using: SymmetricKey(data: Array(secret.utf8)))
        return "sha256=" + mac.map { String(format: "%02x", $0) }.joined()
    }

    /// Each service's own shape: text, and a card in the status's colour.
    static func payload(_ message: ToolMessage, for type: ToolType) -> [UInt8] {
        let colour = message.status.map(Self.colour)
        let title = message.subject
        var object: [String: Any]
        switch type {
        case .slack:
            var attachment: [String: Any] = ["text": message.text, "fallback": message.text]
            if let title { attachment["title"] = title }
            if let colour { attachment["color"] = "#" + colour }
            object = ["text": title ?? message.text, "attachments": [attachment]]
        case .discord:
            var embed: [String: Any] = ["description": String(message.text.prefix(4096))]
            if let title { embed["title"] = String(title.prefix(256)) }
            if let colour, let value = Int(colour, radix: 16) { embed["color"] = value }
            object = ["content": String((title ?? message.text).prefix(2000)), "embeds": [embed]]
        case .teams:
            object = [
                "@type": "MessageCard", "@context": "https://schema.org/extensions", "summary": title ?? String(message.text.prefix(80)),
                "text": message.text,
            ]
            if let title { object["title"] = title }
            if let colour { object["themeColor"] = colour }
        case .webhook, .email:
            object = ["text": message.text]
            if let title { object["subject"] = title }
            if let status = message.status { object["status"] = status.rawValue }
        }
        return Array((try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data())
    }

    /// Green for success, amber for partial, red for the rest.
    static func colour(_ status: ExecutionStatus) -> String {
        switch status {
        case .success: "2EB67D"
        case .partial: "ECB22E"
        case .pending, .running: "1D9BD1"
        case .failure, .timeout, .cancelled: "E01E5A"
        }
    }
}

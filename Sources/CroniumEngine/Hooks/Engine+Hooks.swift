import CroniumCore
import CroniumStore
import Crypto
import Foundation

/// Incoming webhooks: one per event or workflow, shown to and rotated by whoever may change its
/// target; a delivery starts a run with its JSON body as the input.
extension Engine {
    /// The target's hook; nil when it has none.
    public func hook(for target: RunTarget, by user: User) async throws -> Hook? {
        try await checkChangeable(target, by: user)
        guard let stored = try await store.hook(for: target) else { return nil }
        return try opened(stored)
    }

    /// Gives the target a new key and signing secret (the old ones stop working at once), made
    /// when it had no hook. `signed` says whether deliveries must be signed; nil keeps the setting.
    public func rotateHook(for target: RunTarget, signed: Bool?, by user: User) async throws -> Hook {
        try await checkChangeable(target, by: user)
        let previous = try await store.hook(for: target)
        let key = Secrets.newToken(prefix: "hook_")
        let secrets = HookSecrets(key: key, signingSecret: Secrets.newToken(prefix: "whsec_"))
        let stored = try await store.saveHook(
            StoredHook(
                target: target,
                keyHash: Secrets.hashToken(key),
                sealed: try vault.cipher.seal(String(decoding: try JSONEncoder().encode(secrets), as: UTF8.self)),
                signed: signed ?? previous?.signed ?? false,
                createdAt: clock.now()
            )
        )
        return try opened(stored)
    }

    public func deleteHook(for target: RunTarget, by user: User) async throws {
        try await checkChangeable(target, by: user)
        guard try await store.deleteHook(for: target) else { throw CroniumError.notFound("a webhook of \(target)") }
    }

    /// A delivery to the hook with `key`: checked (its pace, its signature when it has one or the
    /// hook requires one, a replay, its body), then the run it starts. Nothing starts on any refusal.
    public func deliver(toHook key: String, body: Data, signature: HookSignature) async throws -> HookDelivery {
        guard let hook = try await store.hook(keyHash: Secrets.hashToken(key)) else {
            throw CroniumError(.notFound, "there is no webhook with this key (it may have been rotated)")
        }
        let now = clock.now()
        try configuration.hookLimits.take(hookId: hook.id, now: now)
        if hook.signed || signature.isPresent {
            let (seen, forgetAt) = try signature.check(body: body, secret: try opened(hook).signingSecret, now: now)
            guard try await store.acceptSignature(seen, hookId: hook.id, now: now, forgetAt: forgetAt) else {
                throw CroniumError(.signatureReplayed, "this signature was accepted before: each signed delivery is taken once")
            }
        }
        var input: JSONValue?
        if !body.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) {
            guard let value = JSONValue(text: String(decoding: body, as: UTF8.self)) else {
                throw CroniumError(.badRequest, "the body must be JSON (it becomes the run's input), or empty")
            }
            input = value
        }
        switch hook.target {
        case .event(let id): return try await deliver(toEvent: id, input: input)
        case .workflow(let id): return try await deliver(toWorkflow: id, input: input, now: now)
        }
    }

    private func deliver(toEvent id: EventID, input: JSONValue?) async throws -> HookDelivery {
        guard let event = try await store.event(id: id) else { throw CroniumError(.notFound, "the webhook's event is gone") }
        guard event.status == .active else {
            throw CroniumError(.notAccepting, "event \(id) is \(event.status.rawValue) and takes no deliveries; make it ACTIVE first")
        }
        guard event.maxExecutions == 0 || event.executionCount < event.maxExecutions else {
            throw CroniumError(.executionsUsedUp, "event \(id) has used all \(event.maxExecutions) of its executions")
        }
        // RUNNING when a free slot took it at once, PENDING when it waits in the queue (as it was
        // then: a fast run may have ended by the time the answer goes).
        let (executionId, status) = try await enqueueReporting(eventId: id, trigger: .webhook, triggeredBy: nil, input: input?.text)
        return HookDelivery(executionId: executionId, status: status.rawValue)
    }

    private func deliver(toWorkflow id: WorkflowID, input: JSONValue?, now: Date) async throws -> HookDelivery {
        guard let workflow = try await store.workflow(id: id) else { throw CroniumError(.notFound, "the webhook's workflow is gone") }
        guard workflow.status == .active else {
            throw CroniumError(.notAccepting, "workflow \(id) is \(workflow.status.rawValue) and takes no deliveries; make it ACTIVE first")
        }
        let start = try await RunQueue(queue: store).triggerWorkflow(workflow, trigger: .webhook, input: input, now: now)
        for execution in start.toStop { _ = try await cancel(executionId: execution, reason: "replaced by a newer run (overlap policy replace)") }
        guard let runId = start.runId, let status = start.status else {
            throw CroniumError(.notAccepting, "workflow \(id)'s previous run is still going and its overlap policy is skip; nothing was started")
        }
        dispatcher.doorbell.ring()
        return HookDelivery(workflowId: id, workflowRunId: runId, status: status.rawValue)
    }

    private func checkChangeable(_ target: RunTarget, by user: User) async throws {
        switch target {
        case .event(let id):
            guard user.canChange(try await event(id: id, visibleTo: user)) else { throw CroniumError.forbidden }
        case .workflow(let id):
            guard user.canChange(try await workflow(id: id, visibleTo: user)) else { throw CroniumError.forbidden }
        }
    }

    private func opened(_ stored: StoredHook) throws -> Hook {
        let secrets = try JSONDecoder().decode(HookSecrets.self, from: Data(try vault.cipher.open(stored.sealed).utf8))
        return Hook(target: stored.target, key: secrets.key, signingSecret: secrets.signingSecret, signed: stored.signed, createdAt: stored.createdAt)
    }
}

/// What a hook keeps sealed.
private struct HookSecrets: Codable {
    var key: String
    var signingSecret: String
}

/// How a delivery is signed: `X-Cronium-Signature: sha256=<hex>`, the HMAC-SHA256 of
/// `<timestamp>.<body>` under the hook's signing secret, with `X-Cronium-Timestamp` (Unix
/// seconds) within ``Hook/timestampTolerance``; or, for senders that sign as GitHub does,
/// `X-Hub-Signature-256: sha256=<hex>` over the body alone. Each signature is taken once: the
/// first kind is remembered while its timestamp is acceptable, the second (which has no time to
/// go by) for ``bodyOnlyMemory``.
public struct HookSignature: Sendable {
    public var cronium: String?
    public var timestamp: String?
    public var hub: String?

    public init(cronium: String? = nil, timestamp: String? = nil, hub: String? = nil) {
        self.cronium = cronium
        self.timestamp = timestamp
        self.hub = hub
    }

    static let bodyOnlyMemory: TimeInterval = 7 * 86400

    var isPresent: Bool { cronium != nil || hub != nil }

    /// The signature's bytes in hex and until when to remember them, when it holds; otherwise why not.
    func check(body: Data, secret: String, now: Date) throws -> (signature: String, forgetAt: Date) {
        let key = SymmetricKey(data: Data(secret.utf8))
        if cronium == nil, let hub {
            let mac = try Self.mac(hub, header: "X-Hub-Signature-256")
            guard HMAC<SHA256>.isValidAuthenticationCode(mac, authenticating: body, using: key) else {
                throw CroniumError(
                    .unauthorized,
                    "the signature does not match: X-Hub-Signature-256 is the HMAC-SHA256 of the body under the hook's signing secret"
                )
            }
            return (Self.hex(mac), now + Self.bodyOnlyMemory)
        }
        guard let cronium else {
            throw CroniumError(
                .unauthorized,
                "this webhook takes only signed deliveries: send X-Cronium-Signature and X-Cronium-Timestamp (or X-Hub-Signature-256)"
            )
        }
        guard let timestamp, let seconds = Int64(timestamp.trimmingCharacters(in: .whitespaces)) else {
            throw CroniumError(.unauthorized, "a signed delivery needs X-Cronium-Timestamp: the Unix time in seconds it was signed at")
        }
        let skew = now.timeIntervalSince1970 - TimeInterval(seconds)
        guard abs(skew) <= Hook.timestampTolerance else {
            throw CroniumError(
                .unauthorized,
                "X-Cronium-Timestamp is \(Int(abs(skew))) s \(skew > 0 ? "old" : "ahead"); at most \(Int(Hook.timestampTolerance)) s from the server's time are taken"
            )
        }
        let mac = try Self.mac(cronium, header: "X-Cronium-Signature")
        guard HMAC<SHA256>.isValidAuthenticationCode(mac, authenticating: Data("\(seconds).".utf8) + body, using: key) else {
            throw CroniumError(.unauthorized, "the signature does not match: sign '<timestamp>.<body>' with the hook's signing secret (HMAC-SHA256)")
        }
        return (Self.hex(mac), Date(timeIntervalSince1970: TimeInterval(seconds)) + 2 * Hook.timestampTolerance)
    }

    private static func mac(_ header: String, header name: String) throws -> Data {
        let text = header.trimmingCharacters(in: .whitespaces).lowercased()
        guard text.hasPrefix("sha256="), let mac = Data(hex: String(text.dropFirst(7))), mac.count == 32 else {
            throw CroniumError(.unauthorized, "\(name) must be sha256= followed by 64 hex digits")
        }
        return mac
    }

    /// The bytes, written one way: another spelling of the same signature is the same replay.
    private static func hex(_ mac: Data) -> String { mac.map { String(format: "%02x", $0) }.joined() }
}

extension Data {
    /// Bytes from hex digits; nil for anything else.
    fileprivate init?(hex: String) {
        guard hex.count % 2 == 0, hex.allSatisfy(\.isHexDigit) else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(hex.count / 2)
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            guard let byte = UInt8(hex[index..<next], radix: 16) else { return nil }
            bytes.append(byte)
            index = next
        }
        self.init(bytes)
    }
}

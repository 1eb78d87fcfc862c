import CroniumCore
import Foundation

/// Incoming webhooks: one per event or workflow, found by the hash of its key.
public protocol HookStore: Sendable {
    /// Stores the target's hook, replacing the one it had (a rotation).
    func saveHook(_ hook: StoredHook) async throws -> StoredHook
    func hook(for target: RunTarget) async throws -> StoredHook?
    func hook(keyHash: String) async throws -> StoredHook?
    /// Whether there was one.
    func deleteHook(for target: RunTarget) async throws -> Bool
    /// Notes a signature as seen until `forgetAt` (those past theirs are forgotten); false when it
    /// had been seen already (a replay).
    func acceptSignature(_ signature: String, hookId: Int64, now: Date, forgetAt: Date) async throws -> Bool
}

/// A hook as stored: its key and signing secret sealed by the engine.
public struct StoredHook: Sendable, Equatable {
    public var id: Int64
    public var target: RunTarget
    /// SHA-256 of the key, in hex: how a delivery finds its hook.
    public var keyHash: String
    public var sealed: String
    public var signed: Bool
    public var createdAt: Date

    public init(id: Int64 = 0, target: RunTarget, keyHash: String, sealed: String, signed: Bool, createdAt: Date) {
        self.id = id
        self.target = target
        self.keyHash = keyHash
        self.sealed = sealed
        self.signed = signed
        self.createdAt = createdAt
    }
}

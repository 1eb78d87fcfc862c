import CroniumCore
import CroniumStore
import Foundation
import Synchronization

/// Users' variables as runs see them: read and written by their helpers, mapped into their
/// environment, and their secrets masked in their logs. Plain values exist only in memory;
/// what is stored of a secret is sealed with the master key.
public struct VariableVault: Sendable {
    let store: any Store
    public let cipher: SecretCipher
    /// Each owner's secrets in plain text, as every run of theirs masks them: read once, not at
    /// every run's start. Every write of a variable goes through this vault, which forgets the
    /// owner's entry. (Copies of the vault share it.)
    private let secrets = SecretsCache()

    public init(store: any Store, cipher: SecretCipher) {
        self.store = store
        self.cipher = cipher
    }

    /// Stores variables (created or changed), all or none.
    func save(_ variables: [StoredVariable]) async throws {
        defer { for owner in Set(variables.map(\.ownerId)) { secrets.forget(owner) } }
        try await store.saveVariables(variables)
    }

    /// After a change to the owner's tools: their credentials are read again at the next run.
    func forgetSecrets(of owner: UserID) { secrets.forget(owner) }

    /// Whether there was such a variable.
    func delete(key: String, owner: UserID) async throws -> Bool {
        defer { secrets.forget(owner) }
        return try await store.deleteVariable(ownerId: owner, key: key)
    }

    /// The plain value of the owner's variable, or nil.
    public func value(key: String, owner: UserID) async throws -> String? {
        guard let stored = try await store.variable(ownerId: owner, key: key) else { return nil }
        return stored.secret ? try cipher.open(stored.storedValue) : stored.storedValue
    }

    /// What a run's `set_variable` does: a new variable is not secret; a secret stays one (and
    /// its new value is masked in the run's log from then on).
    public func setFromRun(key: String, value: String, owner: UserID, mask: LogMask?, now: Date = Date()) async throws {
        var problems: [FieldProblem] = []
        let existing = try await store.variable(ownerId: owner, key: key)
        let next = try stored(key: key, VariableInput(value: value), replacing: existing, owner: owner, now: now, problems: &problems)
        if let problem = problems.first { throw CroniumError(.invalidInput, problem.message) }
        if next.secret { mask?.add(value) }
        try await save([next])
    }

    /// Whether there was such a variable.
    public func deleteFromRun(key: String, owner: UserID) async throws -> Bool {
        try await delete(key: key, owner: owner)
    }

    /// The plain values of the owner's secrets and of their tools' credentials (a webhook's URL,
    /// its headers' values and signing secret, an SMTP password), for a run's log mask: a script
    /// that prints one of them, pasted in by hand, does not put it in the log.
    public func secretValues(owner: UserID) async throws -> [String] {
        if let known = secrets.values(of: owner) { return known }
        let generation = secrets.generation(of: owner)
        var values = try await store.secretValues(ownerId: owner).map { try cipher.open($0) }
        for tool in try await store.tools(usableBy: owner) where tool.ownerId == owner {
            let credential = try cipher.openTool(tool.sealedCredential)
            values += [credential.url, credential.signingSecret, credential.password].compactMap { $0 } + (credential.headers ?? [:]).values
        }
        secrets.keep(values, for: owner, ifStill: generation)
        return values
    }

    /// The row to store for `input`, over what is stored (absent fields keep it); problems are
    /// added for the fields they concern.
    func stored(
        key: String,
        _ input: VariableInput,
        replacing existing: StoredVariable?,
        owner: UserID,
        now: Date,
        problems: inout [FieldProblem]
    ) throws -> StoredVariable {
        let secret = input.secret ?? existing?.secret ?? false
        if input.value == nil, existing == nil { problems.append(.init(field: "value", message: "is required for a new variable")) }
        if let value = input.value, let problem = VariableRules.problem(value: value) { problems.append(.init(field: "value", message: problem)) }
        if let description = input.description, description.count > VariableRules.maxDescriptionLength {
            problems.append(.init(field: "description", message: "has at most \(VariableRules.maxDescriptionLength) characters"))
        }
        // The plain value: the one sent, else the stored one (opened when it was a secret).
        let plain = try input.value ?? existing.map { $0.secret ? try cipher.open($0.storedValue) : $0.storedValue } ?? ""
        return StoredVariable(
            id: existing?.id ?? 0,
            ownerId: owner,
            key: key,
            storedValue: secret ? try cipher.seal(plain) : plain,
            secret: secret,
            description: input.description ?? existing?.description,
            createdAt: existing?.createdAt ?? now,
            updatedAt: now
        )
    }
}

/// The owners' secrets in plain text. A write bumps the owner's generation, so a read that raced
/// a write is not kept.
final class SecretsCache: Sendable {
    private let state = Mutex<(values: [UserID: [String]], generations: [UserID: Int])>(([:], [:]))

    func values(of owner: UserID) -> [String]? { state.withLock { $0.values[owner] } }
    func generation(of owner: UserID) -> Int { state.withLock { $0.generations[owner] ?? 0 } }

    func keep(_ values: [String], for owner: UserID, ifStill generation: Int) {
        state.withLock { if ($0.generations[owner] ?? 0) == generation { $0.values[owner] = values } }
    }

    func forget(_ owner: UserID) {
        state.withLock {
            $0.values[owner] = nil
            $0.generations[owner, default: 0] += 1
        }
    }
}

import CroniumCore
import CroniumStore
import Foundation

/// A user's variables: what the API and the CLI call, and what runs read and write through their
/// helpers. Every variable belongs to one user; nobody else (not an admin either) reads it.
extension Engine {
    public func variables(of user: User) async throws -> [Variable] {
        try await store.variables(ownerId: user.id).map { try variable(from: $0, reveal: false) }
    }

    /// One variable; a secret's value only with `reveal`.
    public func variable(key: String, of user: User, reveal: Bool) async throws -> Variable {
        guard let stored = try await store.variable(ownerId: user.id, key: key) else { throw Self.noVariable(key) }
        return try variable(from: stored, reveal: reveal)
    }

    /// Creates or changes one variable; `created` says which.
    public func setVariable(key: String, _ input: VariableInput, by user: User) async throws -> (variable: Variable, created: Bool) {
        guard user.canCreate else { throw CroniumError.forbidden }
        let existing = try await store.variable(ownerId: user.id, key: key)
        if input.secret == false, existing?.secret == true {
            throw ValidationError(field: "secret", message: "a secret stays secret; delete it and set it again to make it plain")
        }
        var problems: [FieldProblem] = []
        if let problem = VariableRules.problem(key: key) { problems.append(.init(field: "key", message: problem)) }
        if let bodyKey = input.key, bodyKey != key { problems.append(.init(field: "key", message: "the body names '\(bodyKey)', the path '\(key)'")) }
        let next = try stored(key: key, input, replacing: existing, owner: user.id, problems: &problems)
        try ValidationError.check(problems)
        try await vault.save([next])
        return (try variable(from: next, reveal: false), existing == nil)
    }

    public func deleteVariable(key: String, by user: User) async throws {
        guard user.canCreate else { throw CroniumError.forbidden }
        guard try await vault.delete(key: key, owner: user.id) else { throw Self.noVariable(key) }
    }

    /// Sets many variables at once, all or nothing; problems are named `variables[i].field`.
    public func importVariables(_ inputs: [VariableInput], by user: User, dryRun: Bool) async throws -> VariableImportReport {
        guard user.canCreate else { throw CroniumError.forbidden }
        let existing = Dictionary(try await store.variables(ownerId: user.id).map { ($0.key, $0) }, uniquingKeysWith: { first, _ in first })
        var problems: [FieldProblem] = []
        var seen: Set<String> = []
        var report = VariableImportReport()
        var rows: [StoredVariable] = []
        for (index, input) in inputs.enumerated() {
            var own: [FieldProblem] = []
            let key = input.key ?? ""
            if let problem = VariableRules.problem(key: key) { own.append(.init(field: "key", message: problem)) }
            if !seen.insert(key).inserted { own.append(.init(field: "key", message: "\(key) appears twice")) }
            if input.value == nil && existing[key] == nil { own.append(.init(field: "value", message: "is required for a new variable")) }
            let row = try stored(key: key, input, replacing: existing[key], owner: user.id, problems: &own)
            problems += own.map { FieldProblem(field: "variables[\(index)].\($0.field)", message: $0.message) }
            if existing[key] == nil { report.created.append(key) } else { report.updated.append(key) }
            rows.append(row)
        }
        try ValidationError.check(problems)
        if !dryRun { try await vault.save(rows) }
        report.dryRun = dryRun
        return report
    }

    /// Every variable with its value, secrets only with `includeSecrets`, for an export.
    public func exportVariables(of user: User, includeSecrets: Bool) async throws -> [Variable] {
        try await store.variables(ownerId: user.id).filter { includeSecrets || !$0.secret }.map { try variable(from: $0, reveal: true) }
    }

    private func stored(
        key: String,
        _ input: VariableInput,
        replacing existing: StoredVariable?,
        owner: UserID,
        problems: inout [FieldProblem]
    ) throws -> StoredVariable {
        try vault.stored(key: key, input, replacing: existing, owner: owner, now: clock.now(), problems: &problems)
    }

    private func variable(from stored: StoredVariable, reveal: Bool) throws -> Variable {
        let value: String? = stored.secret ? (reveal ? try vault.cipher.open(stored.storedValue) : nil) : stored.storedValue
        return Variable(
            key: stored.key,
            value: value,
            secret: stored.secret,
            description: stored.description,
            createdAt: stored.createdAt,
            updatedAt: stored.updatedAt
        )
    }

    static func noVariable(_ key: String) -> CroniumError { CroniumError(.notFound, "you have no variable \(key)") }
}

/// What an import did (or, with `dryRun`, would do).
public struct VariableImportReport: Codable, Sendable, Equatable {
    public var created: [String] = []
    public var updated: [String] = []
    public var dryRun = false
}

import CroniumCore
import Foundation

/// Variables (a secret as the engine sealed it), and every sealed value at once for a master-key rotation.
public protocol VariableStore: Sendable {
    /// Every sealed value (secret variables, server and tool credentials), for a change of the master key.
    func allSealedValues() async throws -> [SealedValue]
    /// Replaces sealed values in one transaction.
    func replaceSealedValues(_ values: [SealedValue]) async throws
    func variables(ownerId: UserID) async throws -> [StoredVariable]
    func variable(ownerId: UserID, key: String) async throws -> StoredVariable?
    /// The stored values of the owner's secrets: what a run of theirs must never show in its log.
    func secretValues(ownerId: UserID) async throws -> [String]
    /// Writes each variable, creating or replacing it by owner and key, in one transaction.
    func saveVariables(_ variables: [StoredVariable]) async throws
    /// Whether there was such a variable.
    func deleteVariable(ownerId: UserID, key: String) async throws -> Bool
}

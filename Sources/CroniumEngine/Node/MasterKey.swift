import CroniumRunnerKit
import CroniumStore
import Crypto
import Foundation
import Logging

/// The master key that seals secrets: `CRONIUM_MASTER_KEY` (32 bytes, base64) when it is set,
/// else `master.key` in the data directory (made on the first start, 0600). Rotating it writes
/// the new key beside the old (`master.key.new`), re-seals every secret in one transaction, then
/// puts the new key in place; a start that finds `master.key.new` finishes what a crash cut short.
public enum MasterKey {
    public static let environmentVariable = "CRONIUM_MASTER_KEY"
    public static let newEnvironmentVariable = "CRONIUM_NEW_MASTER_KEY"

    public static func cipher(
        dataDirectory: String,
        store: any Store,
        logger: Logger,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) async throws -> SecretCipher {
        if let text = environment[environmentVariable] { return SecretCipher(current: try key(text, variable: environmentVariable)) }
        let file = KeyFile(path: "\(dataDirectory)/master.key")
        let pending = KeyFile(path: "\(dataDirectory)/master.key.new")
        if let new = try pending.existing() {
            let count = try await reseal(store: store, from: try file.load(), to: new)
            try pending.move(to: file)
            logger.warning("finished a master key rotation that had been interrupted", metadata: ["secrets": "\(count)"])
        }
        return SecretCipher(current: try file.load())
    }

    /// `cronium secrets rotate-key`: with the server stopped (the data directory's lock is
    /// taken), a new key; every secret sealed with it. Returns how many secrets there are and
    /// the new key's id. With `CRONIUM_MASTER_KEY`, the new key is `CRONIUM_NEW_MASTER_KEY`,
    /// and nothing is written but the secrets.
    public static func rotate(
        dataDirectory: String,
        logger: Logger,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) async throws -> (secrets: Int, keyId: String) {
        let data = URL(fileURLWithPath: dataDirectory).standardizedFileURL.path
        guard FileManager.default.fileExists(atPath: "\(data)/cronium.sqlite") else {
            throw StartupError(.dataDirectory, "\(data) holds no Cronium database; give the server's --data-dir")
        }
        let lock = try DataDirectoryLock(directory: data)
        defer { lock.release() }
        let store = try await Database.openSQLite(path: "\(data)/cronium.sqlite", writtenBy: BuildInfo.version, logger: logger)
        do {
            let result: (Int, String)
            if let current = environment[environmentVariable] {
                guard let next = environment[newEnvironmentVariable] else {
                    throw StartupError(
                        .key,
                        "the master key comes from \(environmentVariable): set \(newEnvironmentVariable) to the new key (openssl rand -base64 32)"
                    )
                }
                let new = try key(next, variable: newEnvironmentVariable)
                result = (try await reseal(store: store, from: try key(current, variable: environmentVariable), to: new), SecretCipher.id(of: new))
            } else {
                let file = KeyFile(path: "\(data)/master.key")
                let pending = KeyFile(path: "\(data)/master.key.new")
                let old = try file.load()
                let new = SymmetricKey(size: .bits256)
                try pending.write(new)
                result = (try await reseal(store: store, from: old, to: new), SecretCipher.id(of: new))
                try pending.move(to: file)
            }
            try await store.shutdown()
            return result
        } catch {
            try? await store.shutdown()
            throw error
        }
    }

    /// The id of the master key a server started on `dataDirectory` would use, and where it
    /// comes from; nil when there is none yet (a first start makes one).
    public static func keyAtHand(
        dataDirectory: String,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> (id: String, source: String)? {
        if let text = environment[environmentVariable] {
            return (SecretCipher.id(of: try key(text, variable: environmentVariable)), environmentVariable)
        }
        let file = KeyFile(path: "\(dataDirectory)/master.key")
        return try file.existing().map { (SecretCipher.id(of: $0), file.path) }
    }

    /// Seals with `new` every secret not sealed with it yet, in one transaction.
    static func reseal(store: any Store, from old: SymmetricKey, to new: SymmetricKey) async throws -> Int {
        let cipher = SecretCipher(current: new, older: [old])
        let secrets = try await store.allSealedValues()
        let changed = try secrets.filter { !cipher.isCurrent($0.storedValue) }.map {
            SealedValue(table: $0.table, id: $0.id, storedValue: try cipher.seal(try cipher.open($0.storedValue)))
        }
        try await store.replaceSealedValues(changed)
        return secrets.count
    }

    static func key(_ text: String, variable: String) throws -> SymmetricKey {
        guard let data = Data(base64Encoded: text.trimmingCharacters(in: .whitespacesAndNewlines)), data.count == 32 else {
            throw StartupError(.key, "\(variable) must be 32 bytes in base64; make one with: openssl rand -base64 32")
        }
        return SymmetricKey(data: data)
    }
}

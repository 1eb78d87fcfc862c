import CroniumStore
import Crypto
import Foundation

/// `cronium backup` and `cronium restore`, and the backup a start takes before it migrates.
///
/// A backup is one file: a first line `CRONIUM-BACKUP 1`, a line of JSON (the ``Manifest``:
/// schema, release, moment, size, SHA-256, the master keys its secrets need), then the SQLite
/// database as SQLite's online backup copied it: one consistent moment of a server that went on
/// running. The master key is never in it: secrets stay sealed, and the manifest names the
/// key's id so that a restore can say whether the key at hand opens them.
public enum Backup {
    public struct Manifest: Codable, Sendable, Equatable {
        public var schema: Int
        /// The release that took the backup.
        public var cronium: String
        public var createdAt: Date
        public var bytes: Int64
        public var sha256: String
        /// The ids of the master keys the backup's secrets are sealed with (``SecretCipher/id(of:)``).
        public var keyIds: [String]
        /// Rows of the main tables, for a person's report.
        public var events: Int
        public var runs: Int
    }

    static let firstLine = "CRONIUM-BACKUP 1"
    public static let fileExtension = "cronium-backup"

    /// Writes a backup of the database of `dataDirectory` to `file`, as ``create(of:to:version:now:)``.
    @discardableResult
    public static func create(dataDirectory: String, to file: String, version: String) throws -> Manifest {
        let data = URL(fileURLWithPath: dataDirectory).standardizedFileURL.path
        let database = DatabaseFile(path: "\(data)/cronium.sqlite")
        guard database.exists else { throw StartupError(.dataDirectory, "\(data) holds no Cronium database; give the server's --data-dir") }
        return try create(of: database, to: file, version: version)
    }

    /// Writes a backup of `database` to `file`, replacing it atomically: a crash leaves either
    /// the old file or the whole new one, never half of one.
    @discardableResult
    public static func create(of database: DatabaseFile, to file: String, version: String, now: Date = Date()) throws -> Manifest {
        // Where it cannot be written is said before the copy, not as SQLite's complaint after it.
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: file, isDirectory: &isDirectory), isDirectory.boolValue {
            throw BackupError("\(file) is a directory; give the backup file's name")
        }
        let folder = URL(fileURLWithPath: file).deletingLastPathComponent().path
        guard access(folder, W_OK) == 0 else { throw BackupError("cannot write into \(folder): \(String(cString: strerror(errno)))") }
        let partial = "\(file).partial"
        let copy = DatabaseFile(path: "\(file).partial.sqlite")
        defer {
            try? FileManager.default.removeItem(atPath: copy.path)
            try? FileManager.default.removeItem(atPath: partial)
        }
        try? FileManager.default.removeItem(atPath: copy.path)
        try database.copy(to: copy.path)
        try copy.check()
        let counts = try copy.count(["events", "executions"])
        let (digest, bytes) = try sha256(of: copy.path)
        let manifest = Manifest(
            schema: try copy.schema().version,
            cronium: version,
            createdAt: now,
            bytes: bytes,
            sha256: digest,
            keyIds: try copy.sealingKeyIds(),
            events: counts["events"] ?? 0,
            runs: counts["executions"] ?? 0
        )
        guard FileManager.default.createFile(atPath: partial, contents: nil, attributes: [.posixPermissions: 0o600]),
            let output = FileHandle(forWritingAtPath: partial), let input = FileHandle(forReadingAtPath: copy.path)
        else { throw BackupError("cannot write \(partial): \(String(cString: strerror(errno)))") }
        defer {
            try? output.close()
            try? input.close()
        }
        try output.write(contentsOf: Data("\(firstLine)\n".utf8) + (try encoder.encode(manifest)) + Data("\n".utf8))
        while let chunk = try input.read(upToCount: 1 << 20), !chunk.isEmpty { try output.write(contentsOf: chunk) }
        try output.synchronize()
        guard rename(partial, file) == 0 else { throw BackupError("cannot move the backup to \(file): \(String(cString: strerror(errno)))") }
        return manifest
    }

    /// The manifest of the backup `file`, read without its database.
    public static func manifest(of file: String) throws -> (Manifest, bodyOffset: UInt64) {
        guard let handle = FileHandle(forReadingAtPath: file) else {
            throw BackupError("cannot open \(file): \(String(cString: strerror(errno)))")
        }
        defer { try? handle.close() }
        let head = try handle.read(upToCount: 1 << 16) ?? Data()
        let lines = head.split(separator: UInt8(ascii: "\n"), maxSplits: 2, omittingEmptySubsequences: false)
        guard String(decoding: lines.first ?? Data(), as: UTF8.self) == firstLine else {
            throw BackupError("\(file) is not a Cronium backup (it does not begin with '\(firstLine)')")
        }
        guard lines.count == 3 else { throw BackupError("\(file) is a damaged Cronium backup: it ends inside its manifest") }
        let manifest: Manifest
        do { manifest = try decoder.decode(Manifest.self, from: Data(lines[1])) } catch {
            throw BackupError("\(file) is a damaged Cronium backup: its manifest cannot be read")
        }
        return (manifest, UInt64(lines[0].count + lines[1].count + 2))
    }

    /// Restores the backup `file` as `dataDirectory`'s database. The directory must hold none:
    /// a restore never replaces a database. Checks the checksum, the schema (a backup of a newer
    /// release is refused) and SQLite's integrity before the file takes its place.
    public static func restore(from file: String, into dataDirectory: String) throws -> Manifest {
        let (manifest, offset) = try manifest(of: file)
        guard manifest.schema <= DatabaseFile.latestSchema else {
            throw BackupError(
                "\(file) is a backup of schema \(manifest.schema), taken by Cronium \(manifest.cronium); this Cronium knows schema up to \(DatabaseFile.latestSchema): restore it with Cronium \(manifest.cronium) or newer"
            )
        }
        let data = URL(fileURLWithPath: dataDirectory).standardizedFileURL.path
        do {
            try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw StartupError(.dataDirectory, "cannot create the data directory \(data): \(error.localizedDescription)")
        }
        let lock = try DataDirectoryLock(directory: data)
        defer { lock.release() }
        let target = DatabaseFile(path: "\(data)/cronium.sqlite")
        guard !target.exists else {
            throw BackupError("\(data) already holds a database; restore into a new data directory (a restore never replaces one)")
        }
        let restoring = DatabaseFile(path: "\(data)/cronium.sqlite.restoring")
        defer { try? FileManager.default.removeItem(atPath: restoring.path) }
        guard let input = FileHandle(forReadingAtPath: file),
            FileManager.default.createFile(atPath: restoring.path, contents: nil, attributes: [.posixPermissions: 0o600]),
            let output = FileHandle(forWritingAtPath: restoring.path)
        else { throw BackupError("cannot restore into \(data): \(String(cString: strerror(errno)))") }
        defer {
            try? input.close()
            try? output.close()
        }
        try input.seek(toOffset: offset)
        var hash = SHA256()
        var bytes: Int64 = 0
        while let chunk = try input.read(upToCount: 1 << 20), !chunk.isEmpty {
            hash.update(data: chunk)
            bytes += Int64(chunk.count)
            try output.write(contentsOf: chunk)
        }
        try output.synchronize()
        guard bytes == manifest.bytes, hex(hash.finalize()) == manifest.sha256 else {
            throw BackupError("\(file) is damaged: its database is not the one it was taken with (size or SHA-256 differs); nothing was restored")
        }
        try restoring.check()
        guard rename(restoring.path, target.path) == 0 else {
            throw BackupError("cannot move the restored database into place: \(String(cString: strerror(errno)))")
        }
        return manifest
    }

    private static func sha256(of path: String) throws -> (String, Int64) {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw BackupError("cannot read \(path)") }
        defer { try? handle.close() }
        var hash = SHA256()
        var bytes: Int64 = 0
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
            hash.update(data: chunk)
            bytes += Int64(chunk.count)
        }
        return (hex(hash.finalize()), bytes)
    }

    private static func hex(_ digest: SHA256.Digest) -> String { digest.map { String(format: "%02x", $0) }.joined() }

    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }()

    private static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }()
}

/// A backup cannot be taken or restored; the line says why and what to do.
public struct BackupError: Error, CustomStringConvertible, Sendable {
    public let description: String
    init(_ description: String) { self.description = description }
}

import ArgumentParser
import CroniumEngine
import CroniumRunnerKit
import Foundation

/// `cronium backup FILE`: a consistent copy of a data directory's database, taken beside a
/// running server (or a stopped one), into one file with its checksum and schema version.
struct BackupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Back up a server's database into one file, while it runs.",
        discussion: """
            Takes one consistent moment of the database with SQLite's online backup; the server \
            goes on running. The master key is not in the backup: keep a copy of master.key (or of \
            CRONIUM_MASTER_KEY) apart from it, or its secrets cannot be opened after a restore.
            """
    )

    @Argument(help: "The backup file to write (by convention *.cronium-backup).") var file: String
    @Option(name: .customLong("data-dir"), help: "The server's data directory.") var dataDirectory = "./.cronium"
    @Flag(help: "Replace FILE when it exists.") var force = false

    func run() async throws {
        guard force || !FileManager.default.fileExists(atPath: file) else {
            throw CLIError("\(file) exists; give another file, or --force to replace it", code: .usage)
        }
        let started = ContinuousClock.now
        let manifest: Backup.Manifest
        do {
            manifest = try Backup.create(dataDirectory: dataDirectory, to: file, version: BuildInfo.version)
        } catch let error as StartupError {
            throw CLIError(error.description, code: .usage)
        } catch {
            throw CLIError("cannot back up the database of \(dataDirectory): \(error)")
        }
        let seconds = (ContinuousClock.now - started) / .seconds(1)
        print(
            "backed up \(counted(manifest.events, "event")) and \(counted(manifest.runs, "run")) (schema \(manifest.schema), \(formatBytes(manifest.bytes))) to \(file) in \(String(format: "%.1f", seconds)) s"
        )
        print("sha256 \(manifest.sha256)")
        if !manifest.keyIds.isEmpty {
            print("its secrets need the master key \(manifest.keyIds.joined(separator: " or ")): keep a copy of it apart from the backup")
        }
    }
}

/// `cronium restore FILE`: a backup made the database of a new data directory.
struct RestoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Restore a backup into a new data directory.",
        discussion: """
            Checks the backup's checksum, its schema (a backup of a newer release is refused) and \
            SQLite's integrity before the database takes its place. Never replaces a database: \
            restore into a new directory, then start the server on it.
            """
    )

    @Argument(help: "The backup file.") var file: String
    @Option(name: .customLong("data-dir"), help: "The new data directory.") var dataDirectory = "./.cronium"

    func run() async throws {
        let manifest: Backup.Manifest
        do {
            manifest = try Backup.restore(from: file, into: dataDirectory)
        } catch let error as BackupError {
            throw CLIError(error.description)
        } catch let error as StartupError {
            throw CLIError(error.description)
        }
        let data = URL(fileURLWithPath: dataDirectory).standardizedFileURL.path
        print(
            "restored \(counted(manifest.events, "event")) and \(counted(manifest.runs, "run")) (schema \(manifest.schema), taken \(manifest.createdAt.formatted(.iso8601)) by Cronium \(manifest.cronium)) into \(data)"
        )
        guard !manifest.keyIds.isEmpty else { return }
        let needed = manifest.keyIds.joined(separator: " or ")
        let key = try? MasterKey.keyAtHand(dataDirectory: data)
        if let key, manifest.keyIds.contains(key.id) {
            print("its secrets are sealed with the master key \(key.id), the one in \(key.source)")
        } else if let key {
            printError(
                "warning: its secrets are sealed with the master key \(needed), but \(key.source) holds \(key.id): put the backup's key there before starting"
            )
        } else {
            printError(
                "warning: its secrets are sealed with the master key \(needed): copy that master.key into \(data) (or set \(MasterKey.environmentVariable)) before starting, or they cannot be opened"
            )
        }
    }
}

/// `1 event`, `2 events`.
func counted(_ count: Int, _ noun: String) -> String { "\(count) \(noun)\(count == 1 ? "" : "s")" }

/// `12.3 MiB`.
func formatBytes(_ bytes: Int64) -> String {
    bytes == 0 ? "0 bytes" : ByteCountFormatter.string(fromByteCount: bytes, countStyle: .binary)
}

import CroniumHelpers
import Foundation
import Synchronization

/// The helper libraries as files on the host, for runs outside the sandbox (which gets them
/// copied in). Written on first use, readable by every run user, the same for every run.
final class HelperDirectory: Sendable {
    private let written = Mutex<String?>(nil)

    /// `<root>/.helpers`, written if this process has not written it yet.
    func directory(under root: String) throws -> String {
        try written.withLock { written in
            let directory = "\(root)/.helpers"
            if let written, written == directory { return directory }
            let manager = FileManager.default
            try manager.createDirectory(atPath: root, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o711])
            try? manager.removeItem(atPath: directory)
            try Self.write(HelperFiles.all, under: directory)
            written = directory
            return directory
        }
    }

    /// Writes `files` under `root`, readable by everyone (directories 0755, files 0644), making
    /// the directories they need.
    static func write(_ files: [(path: String, contents: [UInt8])], under root: String) throws {
        let manager = FileManager.default
        for file in files {
            let path = "\(root)/\(file.path)"
            try manager.createDirectory(
                atPath: (path as NSString).deletingLastPathComponent,
                withIntermediateDirectories: true,
                attributes: [.posixPermissions: 0o755]
            )
            guard manager.createFile(atPath: path, contents: Data(file.contents), attributes: [.posixPermissions: 0o644]) else {
                throw IsolationError(cannot: "write \(path)", errno: 0)
            }
        }
    }

    /// The directory was removed (leftovers at start-up): write it again on next use.
    func forget() { written.withLock { $0 = nil } }
}

import CroniumCore
import Foundation

/// What `cronium login` saved: the server to use by default and a token per server. A token is
/// only ever sent to the server it was saved for, whatever `--url` says.
struct CLIConfiguration: Codable, Equatable {
    struct Login: Codable, Equatable {
        var token: String
        var username: String
        /// The token `login` created from a password, which `logout` revokes; nil for a token the
        /// user brought, which stays theirs to revoke.
        var createdTokenId: TokenID?
    }

    /// The URL commands use when neither `--url` nor `CRONIUM_URL` is given.
    var url: String?
    var logins: [String: Login] = [:]

    /// `$XDG_CONFIG_HOME/cronium/config.json`, else `~/.config/cronium/config.json`.
    static var path: String {
        let environment = ProcessInfo.processInfo.environment
        let base = environment["XDG_CONFIG_HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? (environment["HOME"] ?? NSHomeDirectory()) + "/.config"
        return base + "/cronium/config.json"
    }

    /// The saved configuration; none when nothing was saved. A file that cannot be read is an
    /// error that names it rather than a silent logout.
    static func load() throws -> CLIConfiguration {
        guard let data = FileManager.default.contents(atPath: path) else {
            if FileManager.default.fileExists(atPath: path) { throw CLIError("\(path) cannot be read; check its owner and mode (0600)") }
            return CLIConfiguration()
        }
        do {
            return try JSONDecoder().decode(CLIConfiguration.self, from: data)
        } catch {
            throw CLIError("\(path) is not a configuration Cronium wrote (\(error.localizedDescription)); run `cronium login` again or delete it")
        }
    }

    /// Writes the file readable by its owner only (the directory too), replacing it in one step:
    /// a crash leaves the old file or the new one, never half of one.
    func save() throws {
        let path = Self.path
        let directory = (path as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let data = try encoder.encode(self) + Data("\n".utf8)
        let temporary = path + ".\(getpid()).tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else { throw CLIError("cannot write \(temporary): \(String(cString: strerror(errno)))") }
        let written = data.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        let synced = fsync(fd)
        close(fd)
        guard written == data.count, synced == 0, rename(temporary, path) == 0 else {
            unlink(temporary)
            throw CLIError("cannot write \(path): \(String(cString: strerror(errno)))")
        }
    }
}

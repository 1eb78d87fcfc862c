import Crypto
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A 256-bit secret key kept in a file of its own, readable by this server alone: read when it
/// is there, else made and written (atomically, 0600 from its first byte).
public struct KeyFile {
    public let path: String

    public init(path: String) { self.path = path }

    public func load() throws -> SymmetricKey {
        if let key = try existing() { return key }
        let key = SymmetricKey(size: .bits256)
        try write(key)
        return key
    }

    /// The key when the file is there.
    func existing() throws -> SymmetricKey? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        guard data.count == 32 else { throw StartupError(.key, "\(path) is damaged (\(data.count) bytes, expected 32)") }
        return SymmetricKey(data: data)
    }

    /// Puts this file in `other`'s place, atomically.
    func move(to other: KeyFile) throws {
        guard rename(path, other.path) == 0 else {
            throw StartupError(.key, "cannot move \(path) to \(other.path): \(String(cString: strerror(errno)))")
        }
    }

    func write(_ key: SymmetricKey) throws {
        let data = key.withUnsafeBytes { Data($0) }
        let temporary = "\(path).\(UInt32.random(in: 0...UInt32.max)).tmp"
        guard FileManager.default.createFile(atPath: temporary, contents: data, attributes: [.posixPermissions: 0o600]) else {
            throw StartupError(.key, "cannot write \(path)")
        }
        guard rename(temporary, path) == 0 else {
            unlink(temporary)
            throw StartupError(.key, "cannot write \(path): \(String(cString: strerror(errno)))")
        }
    }
}

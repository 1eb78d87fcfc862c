import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// `<data-dir>/cronium.lock`, held with `flock` by the one server that uses the data directory:
/// two servers on one SQLite file would run every occurrence twice and take each other's runs
/// for interrupted ones. The kernel drops the lock when the holder dies, however it dies.
public final class DataDirectoryLock: Sendable {
    private let descriptor = Mutex<Int32>(-1)

    public init(directory: String) throws {
        let path = "\(directory)/cronium.lock"
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw StartupError(.dataDirectory, "cannot open \(path): \(String(cString: strerror(errno)))") }
        guard Self.lock(fd) else {
            let holder = Self.readHolder(fd)
            close(fd)
            throw StartupError(
                .dataDirectory,
                "the data directory \(directory) is in use by another Cronium server\(holder.map { " (pid \($0))" } ?? ""); stop it first, or give this one another --data-dir"
            )
        }
        let pid = "\(getpid())\n"
        _ = ftruncate(fd, 0)
        _ = pid.withCString { pwrite(fd, $0, strlen($0), 0) }
        descriptor.withLock { $0 = fd }
    }

    /// Takes the lock, trying for up to a second: a server that just let it go may still share
    /// its descriptor with a child between fork and exec (a run being started), which holds the
    /// lock that long. A server that really holds it still holds it after a second.
    private static func lock(_ fd: Int32) -> Bool {
        for _ in 0..<50 {
            if flock(fd, LOCK_EX | LOCK_NB) == 0 { return true }
            guard errno == EWOULDBLOCK || errno == EINTR else { return false }
            usleep(20_000)
        }
        return false
    }

    /// Lets another server use the directory. Idempotent.
    public func release() {
        descriptor.withLock { fd in
            if fd >= 0 { close(fd) }
            fd = -1
        }
    }

    deinit { release() }

    private static func readHolder(_ fd: Int32) -> Int? {
        var buffer = [UInt8](repeating: 0, count: 32)
        let count = pread(fd, &buffer, buffer.count, 0)
        guard count > 0 else { return nil }
        return Int(String(decoding: buffer[0..<count], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }
}

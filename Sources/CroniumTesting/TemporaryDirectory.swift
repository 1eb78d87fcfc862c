import Foundation

/// A fresh directory under the system's temporary folder, for tests that need real files
/// (SQLite databases, work directories). Removed by ``remove()``.
public struct TemporaryDirectory: Sendable {
    public let path: String

    public init(_ label: String = "cronium-test") throws {
        let path = NSTemporaryDirectory() + "/\(label)-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        self.path = URL(fileURLWithPath: path).standardizedFileURL.path
    }

    public func appending(_ component: String) -> String { "\(path)/\(component)" }

    public func remove() { try? FileManager.default.removeItem(atPath: path) }
}

/// Polls `condition` until it holds or `timeout` passes; for waiting on real processes and servers
/// without fixed sleeps.
public func eventually(timeout: Duration = .seconds(10), _ condition: () async throws -> Bool) async throws -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try await Task.sleep(for: .milliseconds(20))
    }
    return try await condition()
}

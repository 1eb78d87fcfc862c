import CroniumCore
import Foundation

/// Absolute paths of the script interpreters, resolved once at start-up: resolving per run would
/// cost a PATH search each time, and a shim (pyenv's `python3` is a shell script) costs ~45 ms a start.
public struct Interpreters: Sendable, Equatable {
    public var bash: String?
    public var python: String?
    public var node: String?

    public init(bash: String?, python: String?, node: String?) {
        self.bash = bash
        self.python = python
        self.node = node
    }

    /// Prefers the system's own binaries in /usr/bin over shims earlier on PATH.
    public static func resolve(environment: [String: String] = ProcessInfo.processInfo.environment) -> Interpreters {
        let path = (environment["PATH"] ?? LocalProcessExecutor.defaultPath).split(separator: ":").map(String.init)
        let searchOrder = ["/usr/bin", "/bin"] + path
        func find(_ names: [String]) -> String? {
            for directory in searchOrder {
                for name in names {
                    let candidate = "\(directory)/\(name)"
                    if FileManager.default.isExecutableFile(atPath: candidate) {
                        return URL(fileURLWithPath: candidate).resolvingSymlinksInPath().path
                    }
                }
            }
            return nil
        }
        return Interpreters(bash: find(["bash"]), python: find(["python3"]), node: find(["node", "nodejs"]))
    }

    func path(for type: EventType) -> String? {
        switch type {
        case .bash: bash
        case .python: python
        case .nodejs: node
        case .httpRequest, .toolAction: nil
        }
    }
}

/// How a script reaches the runtime helpers: its run's own unix socket on this machine (each
/// executor shows it to the script at a path of its choosing), and a token that works for that
/// run only.
public struct RuntimeEndpoint: Sendable, Equatable {
    public var socketPath: String
    public var token: String

    public init(socketPath: String, token: String) {
        self.socketPath = socketPath
        self.token = token
    }

    /// The variables that let the helper libraries find the API and each other, for a script
    /// that sees the socket at `socketPath` and the helpers under `helpersDirectory`. The run's
    /// own `PYTHONPATH` and `NODE_PATH` are kept after the helpers'.
    public func environment(socketPath: String, helpersDirectory: String, adding existing: [String: String]) -> [String: String] {
        var environment = existing
        environment["CRONIUM_RUNTIME_URL"] = "unix:\(socketPath)"
        environment["CRONIUM_RUNTIME_TOKEN"] = token
        func prepend(_ name: String, _ path: String) {
            environment[name] = [path, existing[name]].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: ":")
        }
        prepend("PYTHONPATH", "\(helpersDirectory)/python")
        prepend("NODE_PATH", "\(helpersDirectory)/node")
        environment["BASH_ENV"] = "\(helpersDirectory)/bash/autoload.sh"
        return environment
    }
}

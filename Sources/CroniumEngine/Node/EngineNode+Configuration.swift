import CroniumCore
import CroniumExecutors
import Foundation

extension EngineNode {
    /// What a node of this machine is made of: where its data lives, how its runs are bounded,
    /// and what it may reach. Every field has a default that works on a fresh machine.
    public struct Configuration: Sendable {
        public var dataDirectory = "./.cronium"
        public var maxConcurrentRuns = 16
        /// Runtime API calls one run may make a second (and twice that at once).
        public var runtimeCallsPerSecond = 50
        /// On SIGTERM/SIGINT, runs get this long to finish before they are cancelled.
        public var shutdownGraceSeconds = 10
        public var sandbox = SandboxMode.auto
        /// The user runs switch to when the node is root (`nobody` when nil): a name or uid[:gid].
        public var runUser: String?
        /// `--container-socket`: the Docker or Podman API socket; found by ``ContainerEngine/locate(option:environment:)`` when nil.
        public var containerSocket: String?
        /// `--default-run-location`: where new script events run unless they say.
        public var defaultRunLocation: RunLocation = .local
        /// Connect timeout, retries and circuit breaker of connections to remote servers.
        public var ssh = SSHPool.Policy()
        /// `--runner-binary`: the `cronium-runner` deployed to remote servers; the one beside this
        /// executable when nil.
        public var runnerBinary: String?
        /// The uids unsandboxed runs of a root node take, one each (`--run-uids`).
        public var runUIDs = RunUIDs.defaultRange
        /// bubblewrap's path, when not the one found on this machine.
        public var bwrap: String?
        /// Host paths every sandboxed run sees read-only.
        public var sandboxReadOnlyPaths: [String] = []
        /// Limits of runs whose events set none; fields left nil take the built-in defaults.
        public var runLimits = RunLimits()
        /// The most an event may ask for; fields left nil take the built-in maxima.
        public var maximumRunLimits = RunLimits()
        /// bcrypt work factor for passwords; 10 takes ~50 ms here, enough against offline guessing for a self-hosted tool.
        public var bcryptCost: UInt8 = 10
        /// Interpreter paths to use instead of the ones found at start-up (`--bash`, `--python`, `--node`).
        public var bashPath: String?
        public var pythonPath: String?
        public var nodePath: String?
        /// How long runs and logs are kept (a server's defaults: ``Retention/serverDefaults``),
        /// and how often the purge looks.
        public var retention = RetentionPolicy(defaults: .serverDefaults)
        /// How fast each tool may send (one a second, ten at once, unless a test needs it slower).
        public var toolLimits = ToolRateLimit()
        /// How fast each incoming webhook takes deliveries (five a second, twenty at once).
        public var hookLimits = HookRateLimit()

        public init() {}

        /// `--run-uids FIRST-LAST`; throws a line that says what is wrong with `text`.
        public mutating func setRunUIDs(_ text: String) throws {
            runUIDs = try RunUIDs.parse(text)
        }
    }
}

extension EngineNode.Configuration {
    /// The interpreters found on this machine, with the configured paths over them.
    func resolvedInterpreters() -> Interpreters {
        var interpreters = Interpreters.resolve()
        interpreters.bash = bashPath ?? interpreters.bash
        interpreters.python = pythonPath ?? interpreters.python
        interpreters.node = nodePath ?? interpreters.node
        return interpreters
    }

    func isolationOptions(instance: String, interpreters: Interpreters) -> Isolation.Options {
        var options = Isolation.Options(instance: instance, forbiddenPaths: [dataDirectory])
        options.mode = sandbox
        options.runUser = runUser
        options.runUIDs = runUIDs
        options.bwrapPath = bwrap
        // Interpreters outside /usr (a configured path such as /opt/python) must be visible too.
        options.readOnlyPaths = sandboxReadOnlyPaths + Self.installPrefixes(of: interpreters)
        options.defaultLimits = runLimits
        options.maximumLimits = maximumRunLimits
        return options
    }

    func engineConfiguration(metrics: EngineMetrics) -> Engine.Configuration {
        var configuration = Engine.Configuration(
            maxConcurrentRuns: maxConcurrentRuns,
            shutdownGracePeriod: .seconds(shutdownGraceSeconds),
            runtimeCallsPerSecond: runtimeCallsPerSecond,
            metrics: metrics
        )
        configuration.defaultRunLocation = defaultRunLocation
        configuration.toolLimits = toolLimits
        configuration.hookLimits = hookLimits
        configuration.bcryptCost = bcryptCost
        configuration.retention = retention
        configuration.ssh = ssh
        configuration.runnerFiles = RemoteServers.RunnerFiles(
            binary: runnerBinary ?? Self.besideThisExecutable("cronium-runner"),
            signingKey: "\(dataDirectory)/runner-signing.key"
        )
        return configuration
    }

    /// The installation directories of interpreters that live outside the sandbox's built-in
    /// view (`/opt/python/bin/python3` → `/opt/python`).
    static func installPrefixes(of interpreters: Interpreters) -> [String] {
        let builtIn = ["/usr/", "/bin/", "/sbin/", "/lib"]
        let paths = [interpreters.bash, interpreters.python, interpreters.node].compactMap { $0 }
        return Array(
            Set(
                paths.filter { path in !builtIn.contains { path.hasPrefix($0) } }.map {
                    URL(fileURLWithPath: $0).deletingLastPathComponent().deletingLastPathComponent().path
                }
            )
        ).sorted()
    }

    /// `name` in the directory of the running executable (for a test process, the test bundle's,
    /// which SwiftPM builds beside the products).
    static func besideThisExecutable(_ name: String) -> String {
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: executable).deletingLastPathComponent().appendingPathComponent(name).path
    }
}

import CroniumCore
import CroniumEngine
import CroniumExecutors
import Foundation

/// How `cronium serve` runs. Every field has a default that works on a fresh machine.
public struct ServerConfiguration: Sendable {
    public var host = "127.0.0.1"
    public var port = 5001
    public var dataDirectory = "./.cronium"
    public var maxConcurrentRuns = 16
    /// Runtime API calls one run may make a second (and twice that at once).
    public var runtimeCallsPerSecond = 50
    /// A second listener serving only `/metrics`, without authentication; none when nil.
    public var metricsPort: Int?
    /// Its address; the API's `host` when nil.
    public var metricsHost: String?
    /// On SIGTERM/SIGINT, runs get this long to finish before they are cancelled.
    public var shutdownGraceSeconds = 10
    public var sandbox = SandboxMode.auto
    /// The user runs switch to when the server is root (`nobody` when nil): a name or uid[:gid].
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
    /// The uids unsandboxed runs of a root server take, one each (`--run-uids`).
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
    /// Interpreter paths to use instead of the ones found at start-up.
    public var bash: String?
    public var python: String?
    public var node: String?
    /// How fast each tool may send (one a second, ten at once, unless a test needs it slower).
    public var toolLimits = ToolRateLimit()

    public init() {}
}

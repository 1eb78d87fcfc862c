import ArgumentParser
import CroniumCore
import CroniumEngine
import CroniumServer
import Foundation
import Hummingbird
import Logging
import NIOCore

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the Cronium server (API, scheduler and workers) on this machine."
    )

    @Option(help: "Address to listen on.") var host = "127.0.0.1"
    @Option(help: "Port to listen on (0 picks a free one).") var port = 5001
    @Option(name: .customLong("data-dir"), help: "Where the database and run files live.") var dataDirectory = "./.cronium"
    @Option(help: "Runs at once.") var maxConcurrentRuns = 16
    @Option(help: "Runtime helper calls one run may make a second (twice as many at once); faster, it gets 429.") var runtimeRateLimit = 50
    @Option(help: "Serve /metrics without a token on this port too (the API's /metrics needs one).") var metricsPort: Int?
    @Option(help: "Address of the --metrics-port listener (default: --host).") var metricsHost: String?
    @Option(help: "Seconds runs get to finish on shutdown before they are stopped and recorded as interrupted.") var shutdownGrace = 10
    @Option(help: "Sandbox runs with bubblewrap: auto, required or off.") var sandbox = "auto"
    @Option(help: "Path of bubblewrap, instead of the one found on this machine.") var bwrap: String?
    @Option(help: "User runs switch to when the server is root: a name or uid[:gid] (default nobody).") var runUser: String?
    @Option(help: "User ids unsandboxed runs of a root server take, one each, as FIRST-LAST (default 2100000000-2101048575).") var runUids: String?
    @Option(help: "The Docker or Podman API socket for CONTAINER runs (default: CRONIUM_CONTAINER_SOCKET, DOCKER_HOST, or the usual paths).")
    var containerSocket: String?
    @Option(help: "Where new script events run when they do not say: local or container.") var defaultRunLocation = "local"
    @Option(help: "The cronium-runner copied to remote servers (default: the one beside this executable).") var runnerBinary: String?
    @Option(name: .customLong("sandbox-ro-bind"), help: "Host path every sandboxed run sees read-only (repeatable).") var sandboxReadOnlyPaths:
        [String] = []
    @Option(help: "Memory of a run, in MiB, when its event sets none (default 512).") var runMemory: Int?
    @Option(help: "Processes of a run when its event sets none (default 256).") var runProcesses: Int?
    @Option(help: "Open files per process of a run when its event sets none (default 1024).") var runOpenFiles: Int?
    @Option(help: "Size of a run's work directory and of its /tmp, in MiB, when its event sets none (default 256).") var runDisk: Int?
    @Option(help: "The most memory, in MiB, an event may give its runs (default 8192).") var maxRunMemory: Int?
    @Option(help: "The most processes an event may give its runs (default 4096).") var maxRunProcesses: Int?
    @Option(help: "The most open files an event may give its runs (default 65536).") var maxRunOpenFiles: Int?
    @Option(help: "The largest work directory, in MiB, an event may give its runs (default 8192).") var maxRunDisk: Int?
    @Option(help: "The most CPUs an event may give its container runs (default 4).") var maxRunCpus: Double?
    @Option(help: "Path of bash, instead of the one found on this machine.") var bash: String?
    @Option(help: "Path of python3, instead of the one found on this machine.") var python: String?
    @Option(help: "Path of node, instead of the one found on this machine.") var node: String?
    @Option(help: "Days a finished run is kept, unless its event says otherwise (0 keeps runs for ever).") var keepRunsDays =
        Retention.serverDefaults.runsDays ?? 0
    @Option(help: "How many of each event's newest runs are kept whatever their age (0: no such limit).") var keepLastRuns =
        Retention.serverDefaults.lastRuns ?? 0
    @Option(help: "Days a finished run's log is kept (0 keeps logs as long as their runs).") var keepLogsDays = Retention.serverDefaults.logsDays ?? 0
    @Option(help: "Seconds between two retention purges.") var purgeInterval = 600
    @Option(help: "PEM certificate (with its chain) to answer HTTPS with; read again on SIGHUP.") var tlsCert: String?
    @Option(help: "PEM private key of --tls-cert, without a passphrase.") var tlsKey: String?
    @Option(help: "Log level: trace, debug, info, notice, warning, error.") var logLevel = "info"
    @Option(help: "Log lines: human, json, or auto (json under journald, else human).") var logFormat = "auto"
    @Option(help: "Configuration file of these settings (default: cronium.yaml in the data directory).") var config: String?

    func validate() throws {
        guard SandboxMode(rawValue: sandbox) != nil else { throw ValidationError("--sandbox must be auto, required or off") }
        guard Logger.Level(rawValue: logLevel) != nil else {
            throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error")
        }
        guard LogFormat(rawValue: logFormat) != nil else { throw ValidationError("--log-format must be human, json or auto") }
        guard (tlsCert == nil) == (tlsKey == nil) else { throw ValidationError("--tls-cert and --tls-key go together: give both, or neither") }
        guard (0...65535).contains(port) else { throw ValidationError("--port must be between 0 and 65535") }
        if let metricsPort, !(1...65535).contains(metricsPort) || metricsPort == port {
            throw ValidationError("--metrics-port must be between 1 and 65535 and not the API's --port")
        }
        guard maxConcurrentRuns >= 1 else { throw ValidationError("--max-concurrent-runs must be at least 1") }
        guard (1...100_000).contains(runtimeRateLimit) else { throw ValidationError("--runtime-rate-limit must be between 1 and 100000") }
        guard shutdownGrace >= 0 else { throw ValidationError("--shutdown-grace must be 0 or more seconds") }
        for problem in retention.problems(field: "") {
            let flag = ["runsDays": "--keep-runs-days", "lastRuns": "--keep-last-runs", "logsDays": "--keep-logs-days"][
                String(problem.field.dropFirst())
            ]
            throw ValidationError("\(flag ?? problem.field) \(problem.message)")
        }
        guard (1...86_400).contains(purgeInterval) else { throw ValidationError("--purge-interval must be between 1 and 86400 seconds") }
        if let maxRunCpus, !(RunLimits.minimumCPUs...1024).contains(maxRunCpus) {
            throw ValidationError("--max-run-cpus must be between \(RunLimits.minimumCPUs) and 1024")
        }
        guard ["local", "container"].contains(defaultRunLocation.lowercased()) else {
            throw ValidationError("--default-run-location must be local or container")
        }
        if let runUids {
            var node = EngineNode.Configuration()
            do { try node.setRunUIDs(runUids) } catch { throw ValidationError("\(error)") }
        }
    }

    var retention: Retention { Retention(runsDays: keepRunsDays, lastRuns: keepLastRuns, logsDays: keepLogsDays) }

    func run() async throws {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        let format = (LogFormat(rawValue: logFormat) ?? .auto).resolved(environment: ProcessInfo.processInfo.environment)
        // Every logger of the process, the libraries' too, writes the same lines.
        LoggingSystem.bootstrap { _ in ServerLogHandler(format: format, level: level) }
        let logger = Logger(label: "cronium")
        var node = EngineNode.Configuration()
        node.dataDirectory = dataDirectory
        node.maxConcurrentRuns = maxConcurrentRuns
        node.runtimeCallsPerSecond = runtimeRateLimit
        node.shutdownGraceSeconds = shutdownGrace
        node.retention.defaults = retention
        node.retention.interval = .seconds(purgeInterval)
        node.sandbox = SandboxMode(rawValue: sandbox) ?? .auto
        node.runUser = runUser
        node.containerSocket = containerSocket
        node.runnerBinary = runnerBinary
        node.defaultRunLocation = RunLocation(rawValue: defaultRunLocation.uppercased()) ?? .local
        if let runUids { try? node.setRunUIDs(runUids) }
        node.bwrap = bwrap
        node.sandboxReadOnlyPaths = sandboxReadOnlyPaths
        node.runLimits = RunLimits(memoryMB: runMemory, processes: runProcesses, openFiles: runOpenFiles, diskMB: runDisk)
        node.maximumRunLimits = RunLimits(
            memoryMB: maxRunMemory,
            processes: maxRunProcesses,
            openFiles: maxRunOpenFiles,
            diskMB: maxRunDisk,
            cpus: maxRunCpus
        )
        (node.bashPath, node.pythonPath, node.nodePath) = (bash, python, self.node)
        var configuration = ServerConfiguration()
        configuration.host = host
        configuration.port = port
        configuration.metricsPort = metricsPort
        configuration.metricsHost = metricsHost
        (configuration.tlsCertificate, configuration.tlsKey) = (tlsCert, tlsKey)
        configuration.engine = node
        let server: CroniumServer
        do {
            server = try await CroniumServer(configuration: configuration, logger: logger)
        } catch {
            throw CLIError("cannot start: \(error)")
        }
        server.node.logBoundary()
        let address = host
        try await buildApplication(server) { channel in
            // Only once the server listens: a start that failed must not show a password it
            // then leaves unusable.
            if let admin = server.node.initialAdmin {
                print(
                    """
                    First start: created user '\(admin.username)' with password \(admin.password)
                    (shown only now). An admin API token is in \(admin.tokenPath).
                    """
                )
            }
            print(
                "Cronium \(CroniumServer.version) listening on \(tlsCert == nil ? "http" : "https")://\(address):\(channel.localAddress?.port ?? 0) (data in \(server.node.configuration.dataDirectory))"
            )
            fflush(nil)
        }
        .runService()
    }
}

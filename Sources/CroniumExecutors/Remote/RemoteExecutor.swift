import CroniumCore
import CroniumHelpers
import CroniumRunnerKit
import Foundation
import Synchronization

/// The server a `REMOTE` run goes to: its name (for messages and the combined log) and how to get
/// its pooled, logged-in connection.
public struct RemotePlacement: Sendable {
    public var serverName: String
    public var connect: @Sendable () async throws -> SSHConnection

    public init(serverName: String, connect: @escaping @Sendable () async throws -> SSHConnection) {
        self.serverName = serverName
        self.connect = connect
    }
}

/// Runs Bash, Python and Node.js scripts on a server over SSH, through `cronium-runner`: the
/// runner is installed once per connection's first run (``RunnerDeployment``), then each run
/// sends it a signed payload (the script, the helper libraries, a manifest) in a session channel
/// of its own and relays its output and helper calls (``RemoteRun``). One server per run: the
/// engine fans an event out to its servers, one run each.
public struct RemoteExecutor: Executor {
    /// The runner and signing key; read on first use, so a server without the runner built runs
    /// everything else.
    public let runner: @Sendable () throws -> RunnerDeployment
    private let deployed = DeployedRunners()

    public init(runner: @escaping @Sendable () throws -> RunnerDeployment) {
        self.runner = runner
    }

    public func prepare(_ context: ExecutionContext, output: RunOutput) async throws(ExecutionError) -> any PreparedRun {
        guard let placement = context.remote else { throw ExecutionError(.startFailed, "a REMOTE run needs a server") }
        let server = placement.serverName
        let deployment: RunnerDeployment
        let connection: SSHConnection
        do {
            deployment = try runner()
            connection = try await placement.connect()
        } catch {
            throw ExecutionError(.startFailed, Self.describe(error, server: server))
        }
        do {
            try await deployed.ensure(deployment, on: connection)
        } catch {
            throw ExecutionError(.startFailed, "server \(server): could not install cronium-runner: \(Self.describe(error, server: nil))")
        }
        let payload: [UInt8]
        do {
            payload = try Self.payload(for: context, signingKey: deployment)
        } catch {
            throw ExecutionError(.startFailed, "could not build the run's payload: \(error)")
        }
        return RemoteRun(
            connection: connection,
            placement: placement,
            deployment: deployment,
            deployed: deployed,
            payload: payload,
            runtimeSocket: context.runtime?.socketPath
        )
    }

    /// The signed payload of one run: its script, the helper libraries when the run has the
    /// runtime API, and a manifest whose environment carries the run's token.
    static func payload(for context: ExecutionContext, signingKey deployment: RunnerDeployment) throws -> [UInt8] {
        let event = context.event
        let scriptName = LocalProcessExecutor.scriptName(for: event.type)
        var environment = context.environment
        var files = [Tar.Entry(path: scriptName, contents: Array(event.content.utf8))]
        if let runtime = context.runtime {
            environment["CRONIUM_RUNTIME_TOKEN"] = runtime.token
            files += HelperFiles.all.map { Tar.Entry(path: "helpers/\($0.path)", contents: $0.contents) }
        }
        // As the supervisor reckons it (`RunSupervisor`): time spent getting here (connecting,
        // deploying the runner) moves the deadline, so the runner's own safety stop, a little
        // after it, never comes before the supervisor's.
        let remaining = max(ContinuousClock.now.duration(to: context.deadline), .seconds(event.timeoutSeconds))
        let deadline = Date().timeIntervalSince1970 + Double(remaining.components.seconds) + Double(remaining.components.attoseconds) / 1e18
        let manifest = RunnerManifest(
            interpreter: [ContainerExecutor.interpreter(for: event.type)] + LocalProcessExecutor.interpreterFlags(for: event.type),
            entrypoint: scriptName,
            environment: environment,
            execution: .init(id: context.executionId.rawValue, eventId: event.id.rawValue, eventName: event.name, attempt: context.attempt),
            deadline: deadline
        )
        return RunnerFrame(.payload, try RunnerPayload.make(manifest: manifest, files: files, signingKey: deployment.signingKey)).encoded
    }

    static func describe(_ error: any Error, server: String?) -> String {
        let text = String(describing: error)
        guard let server, !text.hasPrefix("server \(server)") else { return text }
        return "server \(server): \(text)"
    }
}

/// The runners known to be in place, by connection: the first run over a connection makes sure of
/// it (one command when it is there), the runs that come meanwhile wait for that, and the runs
/// after it start at once. A failed check is not kept, so the next run tries again.
final class DeployedRunners: Sendable {
    private let ensured = Mutex<Set<UInt64>>([])
    private let checks = SingleFlight<UInt64, Void>()
    /// Connections are few and long-lived; this many are remembered at most.
    private static let kept = 256

    /// The runner went missing over `connection`: the next ``ensure(_:on:)`` looks again.
    func forget(_ connection: SSHConnection) {
        _ = ensured.withLock { $0.remove(connection.serial) }
    }

    func ensure(_ deployment: RunnerDeployment, on connection: SSHConnection) async throws {
        let serial = connection.serial
        if ensured.withLock({ $0.contains(serial) }) { return }
        try await checks.run(serial) { _ = try await deployment.ensure(on: connection) }
        ensured.withLock { ensured in
            // Serials grow: the smallest is the oldest connection.
            if ensured.count >= Self.kept, let oldest = ensured.min() { ensured.remove(oldest) }
            ensured.insert(serial)
        }
    }
}

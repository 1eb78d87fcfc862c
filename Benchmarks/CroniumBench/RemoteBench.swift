import CroniumCore
import CroniumEngine
import CroniumExecutors
import CroniumStore
import CroniumTesting
import Crypto
import Foundation
import ServiceLifecycle

/// A11: runs on servers over SSH, against real sshd processes started here (as the tests start
/// them: scripts/test.sh creates their account). A11: Cronium's remote run (payload with the
/// helper libraries, runner, relay) over a warm pooled connection against a bare `exec true` on
/// the same connection, alternating; A11b: the runner's first deployment; A11c: one event on
/// three servers against the same event on one (hosts in network namespaces of their own).
struct RemoteBench {
    let samples: Int
    /// `cronium-runner`, built beside this executable.
    let runnerBinary: String

    func run() async throws -> [BenchResult] {
        guard getpwnam(SSHHost.user) != nil, getuid() == 0 else {
            return [skipped("A11", "needs root and the \(SSHHost.user) account that scripts/test.sh creates")]
        }
        guard let binary = FileManager.default.contents(atPath: runnerBinary) else {
            return [skipped("A11", "no \(runnerBinary); build it with `swift build -c release --product cronium-runner`")]
        }
        let deployment = RunnerDeployment(binary: Array(binary), signingKey: Curve25519.Signing.PrivateKey())
        var hosts: [SSHHost] = []
        defer { for host in hosts { host.stop() } }
        for _ in 0..<3 { hosts.append(try await SSHHost.start(ownNetwork: true)) }
        return [try await warmRun(on: hosts[0], deployment: deployment), try await firstDeployment(on: hosts[0], deployment: deployment)]
            + [try await fanOut(hosts: hosts)]
    }

    private func skipped(_ id: String, _ why: String) -> BenchResult {
        BenchResult(id: id, metric: "remote run over SSH", value: .nan, unit: "ms", target: "≤ 15 ms", detail: "skipped: \(why)")
    }

    static func target(_ host: SSHHost) throws -> SSHTarget {
        SSHTarget(
            host: host.host,
            port: host.port,
            username: SSHHost.user,
            credential: .privateKey(try SSHPrivateKeys.parse(host.clientKey)),
            pinnedHostKeys: [HostKeys.normalised(host.hostKey) ?? host.hostKey]
        )
    }

    private func warmRun(on host: SSHHost, deployment: RunnerDeployment) async throws -> BenchResult {
        let connection = try await SSHConnection.connect(to: try Self.target(host))
        defer { Task { await connection.close() } }
        let executor = RemoteExecutor(runner: { deployment })
        var input = EventInput()
        input.name = "remote bench"
        input.type = .bash
        input.content = "true"
        input.runLocation = .remote
        input.servers = ["bench"]
        let event = try Event.create(from: input, ownerId: 1, now: Date())
        var ours: [Double] = []
        var bare: [Double] = []
        let warmup = 3
        for index in 0..<(samples + warmup) {
            // With a runtime endpoint, so the payload carries the helper libraries as a real run's does.
            let context = ExecutionContext(
                executionId: ExecutionID(Int64(index + 1)),
                event: event,
                environment: ["CRONIUM_EXECUTION_ID": "\(index + 1)"],
                deadline: .now + .seconds(60),
                runtime: RuntimeEndpoint(socketPath: "/nonexistent/runtime.sock", token: "bench"),
                remote: RemotePlacement(serverName: "bench") { connection }
            )
            let started = ContinuousClock.now
            let prepared = try await executor.prepare(context, output: RunOutput { _, _ in })
            let outcome = await prepared.run(output: RunOutput { _, _ in }, stops: .none)
            await prepared.teardown()
            let took = milliseconds(ContinuousClock.now - started)
            guard outcome.status == .success else { throw BenchError("the remote bench's run failed: \(outcome.error?.message ?? "")") }
            let bareStarted = ContinuousClock.now
            guard try await connection.run("true").succeeded else { throw BenchError("`true` failed over SSH") }
            let bareTook = milliseconds(ContinuousClock.now - bareStarted)
            if index >= warmup {
                ours.append(took)
                bare.append(bareTook)
            }
        }
        let (run, exec) = (Summary(ours), Summary(bare))
        let above = run.p50 - exec.p50
        return BenchResult(
            id: "A11",
            metric: "remote run (bash true, helpers in the payload), p50 above a bare exec true on the same warm connection",
            value: above,
            unit: "ms",
            baseline: exec.p50,
            target: "≤ 15 ms",
            pass: above <= 15,
            detail:
                "Cronium p50 \(format(run.p50)) p99 \(format(run.p99)) ms; bare exec p50 \(format(exec.p50)) p99 \(format(exec.p99)) ms; \(samples) each, alternating"
        )
    }

    /// The runner removed, then put back: a new connection each time, as a new server's first run has.
    private func firstDeployment(on host: SSHHost, deployment: RunnerDeployment) async throws -> BenchResult {
        var times: [Double] = []
        for _ in 0..<3 {
            let connection = try await SSHConnection.connect(to: try Self.target(host))
            _ = try await connection.run("rm -rf \(deployment.directory)")
            let started = ContinuousClock.now
            let result = try await deployment.ensure(on: connection)
            times.append(milliseconds(ContinuousClock.now - started))
            await connection.close()
            guard result.uploaded else { throw BenchError("the runner was not uploaded") }
        }
        let summary = Summary(times)
        return BenchResult(
            id: "A11b",
            metric:
                "first deployment of cronium-runner (\(String(format: "%.1f", Double(deployment.binary.count) / 1_048_576)) MiB) over a new connection",
            value: summary.p50,
            unit: "ms",
            target: "report",
            detail: "p50 of 3, max \(format(summary.max)) ms; upload, checksum on the host, key, `version`"
        )
    }

    /// One event on three servers against one on a single server, through the whole engine
    /// (parts recorded, logs, the run summed up), each run waited for in the store.
    private func fanOut(hosts: [SSHHost]) async throws -> BenchResult {
        let directory = NSTemporaryDirectory() + "cronium-bench-remote-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let logger = quietLogger()
        let store = try await Database.openSQLite(path: "\(directory)/cronium.sqlite", logger: logger)
        let owner = try await store.insertUser(username: "bench", passwordHash: "-", role: .admin, now: Date())
        var configuration = Engine.Configuration()
        configuration.runnerFiles = RemoteServers.RunnerFiles(binary: runnerBinary, signingKey: "\(directory)/runner-signing.key")
        let engine = Engine(store: store, executors: ExecutorRegistry(), configuration: configuration, logger: logger)
        let group = ServiceGroup(configuration: .init(services: engine.services, logger: logger))
        let task = Task { try await group.run() }
        let result: Result<BenchResult, any Error>
        do {
            for (index, host) in hosts.enumerated() {
                _ = try await engine.addServer(
                    RemoteServerInput(
                        name: "node-\(index + 1)",
                        host: host.host,
                        port: host.port,
                        username: SSHHost.user,
                        privateKey: host.clientKey,
                        tags: ["fleet"],
                        acceptHostKey: HostKeys.fingerprint(of: host.hostKey)
                    ),
                    by: owner
                )
            }
            func event(_ servers: [String]) async throws -> Event {
                var input = benchEventInput(name: "fan-out \(servers.count)", script: "true")
                input.runLocation = .remote
                input.servers = servers
                return try await engine.createEvent(input, by: owner)
            }
            let one = try await event(["node-1"])
            let three = try await event(["node-1", "node-2", "node-3"])
            var single: [Double] = []
            var triple: [Double] = []
            for index in 0..<(samples / 2 + 2) {
                for (event, sink) in [(one, 0), (three, 1)] {
                    let started = ContinuousClock.now
                    let id = try await engine.runNow(eventId: event.id, by: owner)
                    while try await store.execution(id: id)?.status.isFinal != true { try await Task.sleep(for: .milliseconds(1)) }
                    guard try await store.execution(id: id)?.status == .success else { throw BenchError("a fan-out run failed") }
                    if index >= 2 {
                        if sink == 0 {
                            single.append(milliseconds(ContinuousClock.now - started))
                        } else {
                            triple.append(milliseconds(ContinuousClock.now - started))
                        }
                    }
                }
            }
            let (alone, together) = (Summary(single), Summary(triple))
            result = .success(
                BenchResult(
                    id: "A11c",
                    metric: "one event on 3 servers, p50 run time over the same event on 1",
                    value: together.p50 / alone.p50,
                    unit: "×",
                    baseline: alone.p50,
                    target: "report",
                    detail:
                        "3 servers p50 \(format(together.p50)) p99 \(format(together.p99)) ms; 1 server p50 \(format(alone.p50)) p99 \(format(alone.p99)) ms; \(single.count) each, from run-now to the recorded end"
                )
            )
        } catch {
            result = .failure(error)
        }
        await group.triggerGracefulShutdown()
        try await task.value
        try await store.shutdown()
        return try result.get()
    }
}

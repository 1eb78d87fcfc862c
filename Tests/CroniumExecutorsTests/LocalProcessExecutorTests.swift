import CroniumCore
import CroniumEngine
import CroniumTesting
import Foundation
import Synchronization
import Testing

@testable import CroniumExecutors

/// Collects a run's output lines for assertions.
final class OutputRecorder: Sendable {
    private let storage = Mutex<[(LogStream, String)]>([])
    var lines: [(LogStream, String)] { storage.withLock { $0 } }
    func text(_ stream: LogStream) -> [String] { lines.filter { $0.0 == stream }.map(\.1) }
    var handler: RunOutput { RunOutput { stream, lines in self.storage.withLock { $0 += lines.map { (stream, $0) } } } }
}

func scriptEvent(_ type: EventType, _ content: String, timeoutSeconds: Int = 30, network: Bool = true) throws -> Event {
    var input = EventInput()
    input.name = "test"
    input.type = type
    input.content = content
    input.timeoutValue = timeoutSeconds
    input.timeoutUnit = .seconds
    input.networkAccess = network
    return try Event.create(from: input, ownerId: 1, now: Date())
}

/// One run as the engine would start it: a context with the event's deadline.
struct RunRequest {
    var executionId: ExecutionID
    var event: Event
    var environment: [String: String]
}

extension Executor {
    /// Runs `request` through the engine's supervisor (prepare, run with the deadline, teardown);
    /// cancelling the calling task stops it.
    func execute(_ request: RunRequest, output: RunOutput, grace: Duration = .milliseconds(500)) async -> ExecutionOutcome {
        let context = ExecutionContext(
            executionId: request.executionId,
            event: request.event,
            environment: request.environment,
            deadline: .now + .seconds(request.event.timeoutSeconds)
        )
        return await RunSupervisor.run(context, on: self, output: output, stopping: .init(gracePeriod: grace))
    }
}

@Suite struct LocalProcessExecutorTests {
    /// A sandboxed executor requires the sandbox (bubblewrap is installed by scripts/test.sh).
    func executor(_ directory: TemporaryDirectory, sandboxed: Bool) throws -> LocalProcessExecutor {
        LocalProcessExecutor(
            configuration: .init(
                interpreters: .resolve(),
                isolation: try Isolation.forTests(directory: directory, mode: sandboxed ? .required : .off),
                workRoot: directory.appending("work")
            )
        )
    }

    @Test(arguments: [false, true])
    func bashStreamsBothStreamsAndReportsExitCode(sandboxed: Bool) async throws {
        let directory = try TemporaryDirectory("exec")
        defer { directory.remove() }
        let recorder = OutputRecorder()
        let event = try scriptEvent(.bash, "echo out1\necho err1 >&2\nprintf 'no newline'\nexit 3")
        let outcome = await try executor(directory, sandboxed: sandboxed)
            .execute(RunRequest(executionId: 1, event: event, environment: [:]), output: recorder.handler)
        #expect(outcome.status == .failure)
        #expect(outcome.exitCode == 3)
        #expect(recorder.text(.stdout) == ["out1", "no newline"])
        #expect(recorder.text(.stderr) == ["err1"])
    }

    @Test(arguments: [EventType.python, .nodejs])
    func pythonAndNodeRun(type: EventType) async throws {
        let directory = try TemporaryDirectory("exec")
        defer { directory.remove() }
        let recorder = OutputRecorder()
        let script = type == .python ? "import os\nprint('hello', os.environ['GREETING'])" : "console.log('hello', process.env.GREETING)"
        let outcome = await try executor(directory, sandboxed: true)
            .execute(RunRequest(executionId: 2, event: try scriptEvent(type, script), environment: ["GREETING": "world"]), output: recorder.handler)
        #expect(outcome.status == .success)
        #expect(recorder.text(.stdout) == ["hello world"])
    }

    /// A run sees none of the server's own variables. (Checked against the variables this process
    /// has: setting one here would race with other tests' process starts, which read the environment.)
    @Test func serverEnvironmentDoesNotLeak() async throws {
        let common: Set<String> = ["PATH", "HOME", "PWD", "OLDPWD", "SHLVL", "_", "LANG", "LC_ALL", "TMPDIR", "USER", "LOGNAME", "TERM", "SHELL"]
        let serverOnly = Set(ProcessInfo.processInfo.environment.keys).subtracting(common).filter { !$0.hasPrefix("CRONIUM_") }
        #expect(!serverOnly.isEmpty, "the test needs a variable only the server has")
        let directory = try TemporaryDirectory("exec")
        defer { directory.remove() }
        let recorder = OutputRecorder()
        let event = try scriptEvent(.bash, "env | cut -d= -f1; echo \"id $CRONIUM_EXECUTION_ID\"")
        _ = await try executor(directory, sandboxed: false)
            .execute(RunRequest(executionId: 7, event: event, environment: ["CRONIUM_EXECUTION_ID": "7"]), output: recorder.handler)
        let names = recorder.text(.stdout)
        #expect(names.last == "id 7")
        #expect(Set(names).isDisjoint(with: serverOnly), "\(Set(names).intersection(serverOnly))")
    }

    @Test(arguments: [false, true])
    func timeoutKillsGrandchildren(sandboxed: Bool) async throws {
        let directory = try TemporaryDirectory("exec")
        defer { directory.remove() }
        let marker = "3\(Int.random(in: 100_000...999_999))"
        // The grandchild ignores SIGTERM, so only the group-wide SIGKILL stops it.
        let script = "bash -c 'trap \"\" TERM; exec sleep \(marker)' &\necho started\nsleep \(marker)"
        let recorder = OutputRecorder()
        let start = ContinuousClock.now
        // Long enough for the script to print before it is stopped while the whole suite starts at
        // once on two cores (2 s was seen to pass before bash reached its `echo`).
        let outcome = await try executor(directory, sandboxed: sandboxed)
            .execute(RunRequest(executionId: 3, event: try scriptEvent(.bash, script, timeoutSeconds: 4), environment: [:]), output: recorder.handler)
        #expect(outcome.status == .timeout)
        // 4 s, the 5 s grace at most, and room for a loaded machine.
        #expect(ContinuousClock.now - start < .seconds(12))
        #expect(recorder.text(.stdout) == ["started"])
        #expect(try await eventually(timeout: .seconds(3)) { livePIDs(withMarker: "sleep \(marker)").isEmpty })
    }

    /// A stopped script gets SIGTERM first and the grace period to clean up; what it prints
    /// meanwhile is kept.
    @Test(arguments: [false, true])
    func timeoutSendsTermAndKeepsWhatTheTrapPrints(sandboxed: Bool) async throws {
        let directory = try TemporaryDirectory("exec")
        defer { directory.remove() }
        // The handler takes a while, as real clean-ups do; it must be given the time.
        let script = "trap 'sleep 0.2; echo cleaning up; exit 7' TERM\necho started\nsleep 30 &\nwait $!"
        let recorder = OutputRecorder()
        // A grace far longer than the handler needs, so a loaded machine cannot cut it short.
        // A timeout long enough for a loaded machine to reach the `wait`: a signal that arrives
        // before the script has set its trap cannot run it.
        let outcome = await try executor(directory, sandboxed: sandboxed)
            .execute(
                RunRequest(executionId: 5, event: try scriptEvent(.bash, script, timeoutSeconds: 3), environment: [:]),
                output: recorder.handler,
                grace: .seconds(10)
            )
        #expect(outcome.status == .timeout)
        #expect(recorder.text(.stdout) == ["started", "cleaning up"])
        // Under bubblewrap too: bwrap is spared the signal and exits with the script's status.
        #expect(outcome.exitCode == 7)
    }

    /// The thread that watches for exits starts with the first run and ends at shutdown; a run
    /// after that (there should be none) still learns of its exit.
    @Test func theExitWatcherEndsWithTheExecutor() async throws {
        let directory = try TemporaryDirectory("exec")
        defer { directory.remove() }
        let executor = try executor(directory, sandboxed: false)
        let first = await executor.execute(
            RunRequest(executionId: 1, event: try scriptEvent(.bash, "true"), environment: [:]),
            output: OutputRecorder().handler
        )
        #expect(first.status == .success && !executor.exits.hasEnded)
        await executor.shutDown()
        #expect(try await eventually { executor.exits.hasEnded })
        let after = await executor.execute(
            RunRequest(executionId: 2, event: try scriptEvent(.bash, "exit 3"), environment: [:]),
            output: OutputRecorder().handler
        )
        #expect(after.exitCode == 3)
    }

    @Test func backgroundChildDoesNotHoldTheRunOpen() async throws {
        let directory = try TemporaryDirectory("exec")
        defer { directory.remove() }
        let marker = "4\(Int.random(in: 100_000...999_999))"
        let start = ContinuousClock.now
        let outcome = await try executor(directory, sandboxed: false)
            .execute(
                RunRequest(executionId: 4, event: try scriptEvent(.bash, "sleep \(marker) &\necho done"), environment: [:]),
                output: OutputRecorder().handler
            )
        #expect(outcome.status == .success)
        // The child sleeps for days: any bound far below that shows it did not hold the run (20 s: the loaded suite).
        #expect(ContinuousClock.now - start < .seconds(20))
        #expect(try await eventually(timeout: .seconds(3)) { livePIDs(withMarker: "sleep \(marker)").isEmpty })
    }

    @Test(arguments: [false, true])
    func cancellationStopsTheRun(sandboxed: Bool) async throws {
        let directory = try TemporaryDirectory("exec")
        defer { directory.remove() }
        let executor = try executor(directory, sandboxed: sandboxed)
        let event = try scriptEvent(.bash, "echo begin\nsleep 60")
        let recorder = OutputRecorder()
        let task = Task { await executor.execute(RunRequest(executionId: 5, event: event, environment: [:]), output: recorder.handler) }
        #expect(try await eventually { recorder.text(.stdout) == ["begin"] })
        task.cancel()
        let outcome = await task.value
        #expect(outcome.status == .cancelled)
    }

    /// A stop at any moment of a sandbox's start ends the run at once, not after the grace
    /// period. bubblewrap's init in the run's PID namespace ignores SIGTERM, so a TERM sent while
    /// the sandbox was still being set up used to be lost (a replaced scheduled run went on).
    @Test func aStopDuringTheSandboxStartIsNotLost() async throws {
        let directory = try TemporaryDirectory("exec")
        defer { directory.remove() }
        let executor = try executor(directory, sandboxed: true)
        let event = try scriptEvent(.bash, "sleep 60")
        // The sandbox takes a few milliseconds to start: stops are sent across that window.
        for step in 0..<40 {
            let started = ContinuousClock.now
            let task = Task {
                await executor.execute(
                    RunRequest(executionId: 5, event: event, environment: [:]),
                    output: OutputRecorder().handler,
                    grace: .seconds(30)
                )
            }
            try await Task.sleep(for: .microseconds(250 * step))
            task.cancel()
            let outcome = await task.value
            #expect(outcome.status == .cancelled)
            #expect(ContinuousClock.now - started < .seconds(10), "a stop \(250 * step) µs after the start waited for the grace period")
        }
    }

    @Test func sandboxHidesTheDataDirectoryAndProtectsTheSystem() async throws {
        let directory = try TemporaryDirectory("exec")
        defer { directory.remove() }
        let dataDirectory = directory.path
        try "top secret".write(toFile: "\(dataDirectory)/cronium.sqlite", atomically: true, encoding: .utf8)
        let script = """
            cat \(dataDirectory)/cronium.sqlite 2>/dev/null || echo hidden
            touch /usr/cronium-test 2>/dev/null && echo wrote-system || echo read-only
            echo mine > ./file && cat ./file
            echo tmp > /tmp/x && echo tmp-ok
            """
        let recorder = OutputRecorder()
        let executor = try executor(directory, sandboxed: true)
        let outcome = await executor.execute(
            RunRequest(executionId: 6, event: try scriptEvent(.bash, script), environment: [:]),
            output: recorder.handler
        )
        #expect(outcome.status == .success)
        #expect(recorder.text(.stdout) == ["hidden", "read-only", "mine", "tmp-ok"])
    }

    @Test func networkCanBeSwitchedOff() async throws {
        let directory = try TemporaryDirectory("exec")
        defer { directory.remove() }
        let script = "grep -c : /proc/net/dev"
        let recorder = OutputRecorder()
        let executor = try executor(directory, sandboxed: true)
        _ = await executor.execute(
            RunRequest(executionId: 8, event: try scriptEvent(.bash, script, network: false), environment: [:]),
            output: recorder.handler
        )
        // Only the loopback interface exists in a fresh network namespace.
        #expect(recorder.text(.stdout) == ["1"])
    }

    @Test func missingInterpreterIsAClearFailure() async throws {
        let directory = try TemporaryDirectory("exec")
        defer { directory.remove() }
        let executor = LocalProcessExecutor(
            configuration: .init(
                interpreters: .init(bash: nil, python: nil, node: nil),
                isolation: try Isolation.forTests(directory: directory, mode: .off),
                workRoot: directory.path
            )
        )
        let outcome = await executor.execute(
            RunRequest(executionId: 9, event: try scriptEvent(.python, "print(1)"), environment: [:]),
            output: RunOutput { _, _ in }
        )
        #expect(outcome.status == .failure)
        #expect(outcome.error?.message.contains("no interpreter for PYTHON") == true)
    }
}

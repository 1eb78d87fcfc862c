import CroniumCore
import CroniumEngine
import CroniumStore
import CroniumTesting
import Foundation
import Logging
import Testing

@Suite struct EngineRunTests {
    @Test func runNowRecordsSuccessOutputAndEnvironment() async throws {
        try await withEngine { harness in
            let event = try await harness.createEvent {
                $0.content = "echo \"run $CRONIUM_EXECUTION_ID of $CRONIUM_EVENT_NAME ($CRONIUM_EVENT_ID) $GREETING\"\necho warn >&2"
                $0.name = "greeter"
                $0.environment = ["GREETING": "hi"]
            }
            let id = try await harness.engine.enqueue(eventId: event.id, trigger: .manual, triggeredBy: harness.owner.id)
            let execution = try await harness.finished(id)
            #expect(execution.status == .success)
            #expect(execution.exitCode == 0)
            #expect(execution.startedAt != nil && execution.finishedAt != nil)
            let lines = try await harness.store.logLines(executionId: id)
            #expect(lines.map(\.text) == ["run \(id) of greeter (\(event.id)) hi", "warn"])
            #expect(lines.map(\.stream) == [.stdout, .stderr])
            #expect(try await harness.store.event(id: event.id)?.executionCount == 1)
        }
    }

    @Test func failedRunsAreRetriedWithTheirAttemptNumber() async throws {
        try await withEngine { harness in
            let event = try await harness.createEvent {
                $0.content = "echo try; exit 2"
                $0.retries = 2
                $0.retryBackoffSeconds = 0
            }
            _ = try await harness.engine.enqueue(eventId: event.id, trigger: .manual, triggeredBy: nil)
            var executions: [Execution] = []
            // 30 s: in the full suite (30-odd servers in one process, on 2 cores) the third attempt
            // was seen to end 10-20 s late; see the closing note of the runtime-helpers session.
            #expect(
                try await eventually(timeout: .seconds(30)) {
                    executions = try await harness.store.executions(eventId: event.id)
                    return executions.count == 3 && executions.allSatisfy { $0.status.isFinal }
                }
            )
            #expect(executions.map(\.attempt).sorted() == [1, 2, 3])
            var logs: [String] = []
            for execution in executions { logs.append("\(execution.id): \(try await harness.store.logLines(executionId: execution.id).map(\.text))") }
            #expect(
                executions.allSatisfy { $0.status == .failure && $0.exitCode == 2 },
                "\(executions.map { "\($0.attempt) \($0.status) \($0.error ?? "-")" }) \(logs)"
            )
            #expect(executions.filter { $0.trigger == .retry }.count == 2)
            // Retries belong to one logical run, so they do not use up the execution budget.
            #expect(try await harness.store.event(id: event.id)?.executionCount == 1)
        }
    }

    @Test func cancellingARunningExecutionStopsIt() async throws {
        try await withEngine { harness in
            let event = try await harness.createEvent { $0.content = "echo started\nsleep 60" }
            let id = try await harness.engine.enqueue(eventId: event.id, trigger: .manual, triggeredBy: nil)
            #expect(try await eventually { try await harness.store.execution(id: id)?.status == .running })
            #expect(try await harness.engine.cancel(executionId: id))
            let execution = try await harness.finished(id, timeout: .seconds(5))
            #expect(execution.status == .cancelled)
            #expect(try await harness.engine.cancel(executionId: id) == false)
        }
    }

    @Test func reachingMaxExecutionsPausesTheEvent() async throws {
        try await withEngine { harness in
            let event = try await harness.createEvent {
                $0.maxExecutions = 2
                $0.status = .active
            }
            for _ in 0..<2 {
                _ = try await harness.finished(try await harness.engine.enqueue(eventId: event.id, trigger: .manual, triggeredBy: nil))
            }
            let stored = try #require(try await harness.store.event(id: event.id))
            #expect(stored.executionCount == 2)
            #expect(stored.status == .paused)
        }
    }

    @Test func logCapKeepsHeadAndTailAndCountsTheMiddle() async throws {
        try await withEngine { harness in
            let event = try await harness.createEvent {
                $0.content = "for i in $(seq 1 5000); do echo \"line $i\"; done"
                $0.logCapBytes = 4096
            }
            let id = try await harness.engine.enqueue(eventId: event.id, trigger: .manual, triggeredBy: nil)
            let execution = try await harness.finished(id)
            let lines = try await harness.store.logLines(executionId: id, limit: 10_000)
            #expect(lines.first?.text == "line 1")
            #expect(lines.last?.text == "line 5000")
            #expect(lines.contains { $0.stream == .system && $0.text.contains("dropped") })
            let storedBytes = lines.filter { $0.stream != .system }.reduce(0) { $0 + $1.text.utf8.count + 1 }
            #expect(storedBytes <= 4096)
            #expect(execution.logBytes == (1...5000).reduce(0) { $0 + "line \($1)".utf8.count + 1 })
            #expect(execution.logDroppedBytes == execution.logBytes - storedBytes)
            #expect(lines.map(\.seq) == lines.map(\.seq).sorted())
        }
    }

    /// A follower that starts before the run gets every line once, then the final status.
    @Test func aFollowerGetsEveryLineThenTheFinalStatus() async throws {
        try await withEngine { harness in
            let event = try await harness.createEvent { $0.content = "echo one\nsleep 0.5\necho two\nexit 1" }
            let id = try await harness.engine.enqueue(eventId: event.id, trigger: .manual, triggeredBy: nil)
            var seen: [String] = []
            var final: ExecutionStatus?
            for try await event in try await harness.engine.followLog(executionId: id, visibleTo: harness.owner) {
                switch event {
                case .lines(let lines): seen += lines.filter { $0.stream == .stdout }.map(\.text)
                case .finished(let status): final = status
                }
            }
            #expect(seen == ["one", "two"])
            #expect(final == .failure)
        }
    }

    /// Following a run still queued waits for it to start, without looking again and again, and
    /// a run cancelled while queued ends its follower at once.
    @Test func aFollowerOfAQueuedRunWaitsForItsStart() async throws {
        var configuration = Engine.Configuration.forTests
        configuration.maxConcurrentRuns = 1
        try await withEngine(configuration: configuration) { harness in
            // Long enough to outlast a loaded machine's slowest steps; cancelled once checked.
            let blocker = try await harness.createEvent { $0.content = "sleep 300" }
            let event = try await harness.createEvent { $0.content = "echo after" }
            let blocking = try await harness.engine.enqueue(eventId: blocker.id, trigger: .manual, triggeredBy: nil)
            #expect(try await eventually { try await harness.store.execution(id: blocking)?.status == .running })
            let queued = try await harness.engine.enqueue(eventId: event.id, trigger: .manual, triggeredBy: nil)
            let cancelled = try await harness.engine.enqueue(eventId: event.id, trigger: .manual, triggeredBy: nil)
            #expect(try await harness.store.execution(id: queued)?.status == .pending)
            func follow(_ id: ExecutionID) async throws -> ([String], ExecutionStatus?) {
                var (seen, final): ([String], ExecutionStatus?) = ([], nil)
                for try await event in try await harness.engine.followLog(executionId: id, visibleTo: harness.owner) {
                    switch event {
                    case .lines(let lines): seen += lines.map(\.text)
                    case .finished(let status): final = status
                    }
                }
                return (seen, final)
            }
            async let first = follow(queued)
            async let second = follow(cancelled)
            _ = try await harness.engine.cancel(executionId: cancelled)
            let (_, secondEnd) = try await second
            #expect(secondEnd == .cancelled)
            #expect(try await harness.store.execution(id: blocking)?.status == .running)
            _ = try await harness.engine.cancel(executionId: blocking)
            let (firstLines, firstEnd) = try await first
            #expect(firstLines == ["after"] && firstEnd == .success)
        }
    }

    /// A follower far slower than the run loses its live feed (its buffer fills) and reads what
    /// it missed from the store: no line lost, none twice, in order.
    @Test func aSlowFollowerOfAHundredThousandLinesMissesNone() async throws {
        var configuration = Engine.Configuration.forTests
        // A small buffer: any follower slower than the run overflows it, however loaded the machine.
        configuration.logFollowerBuffer = 4
        try await withEngine(configuration: configuration) { harness in
            let event = try await harness.createEvent {
                $0.content = "for i in $(seq 1 100000); do echo \"line $i\"; done"
                $0.logCapBytes = 8 << 20
                $0.timeoutValue = 120
            }
            let id = try await harness.engine.enqueue(eventId: event.id, trigger: .manual, triggeredBy: nil)
            var seen: [String] = []
            seen.reserveCapacity(100_000)
            var final: ExecutionStatus?
            var handed = 0
            for try await event in try await harness.engine.followLog(executionId: id, visibleTo: harness.owner) {
                handed += 1
                // Slow while the run prints: far behind its live feed.
                if handed <= 100 { try await Task.sleep(for: .milliseconds(20)) }
                switch event {
                case .lines(let lines): seen += lines.filter { (line: LogLine) in line.stream == .stdout }.map(\.text)
                case .finished(let status): final = status
                }
            }
            #expect(final == .success)
            #expect(harness.engine.logHub.overflows > 0)
            #expect(seen.count == 100_000)
            #expect(seen == (1...100_000).map { "line \($0)" })
        }
    }

    @Test func anInterruptedRunIsFailedAndRetriedOnRestart() async throws {
        let directory = try TemporaryDirectory("engine")
        defer { directory.remove() }
        // A previous process claimed a run and died: its job is still claimed at start-up.
        let event = try await withEngine(directory: directory) { first in
            try await first.createEvent {
                $0.retries = 1
                $0.content = "echo recovered"
            }
        }
        let store = try await Database.openSQLite(path: directory.appending("cronium.sqlite"), logger: .init(label: "t"))
        let now = Date()
        let orphan = try await store.enqueue(EnqueueRequest(eventId: event.id, trigger: .manual, runAt: now), now: now)
        #expect(try await store.claimAndStart(owner: "crashed-node", limit: 1, now: now, leaseUntil: now + 3600).map(\.execution.id) == [orphan])
        try await store.shutdown()

        try await withEngine(directory: directory) { second in
            let failed = try await second.finished(orphan)
            #expect(failed.status == .failure)
            #expect(failed.error?.contains("interrupted") == true)
            var retry: Execution?
            #expect(
                try await eventually {
                    retry = try await second.store.executions(eventId: event.id).first { $0.attempt == 2 && $0.status.isFinal }
                    return retry != nil
                }
            )
            #expect(retry?.status == .success)
        }
    }

    @Test func httpRequestEventsRecordStatusAndBody() async throws {
        try await withEngine { harness in
            let server = try await LocalHTTPServer.start { path in path == "/ok" ? (200, "all good") : (503, "down") }
            defer { server.stop() }
            let ok = try await harness.createEvent {
                $0.type = .httpRequest
                $0.httpRequest = HTTPRequestSpec(method: "POST", url: "http://127.0.0.1:\(server.port)/ok", headers: ["X-Test": "1"], body: "{}")
            }
            let down = try await harness.createEvent {
                $0.type = .httpRequest
                $0.httpRequest = HTTPRequestSpec(url: "http://127.0.0.1:\(server.port)/down")
            }
            let success = try await harness.finished(try await harness.engine.enqueue(eventId: ok.id, trigger: .manual, triggeredBy: nil))
            #expect(success.status == .success && success.exitCode == 200 && success.output == "all good")
            let failure = try await harness.finished(try await harness.engine.enqueue(eventId: down.id, trigger: .manual, triggeredBy: nil))
            #expect(failure.status == .failure && failure.exitCode == 503 && failure.output == "down")
        }
    }
}

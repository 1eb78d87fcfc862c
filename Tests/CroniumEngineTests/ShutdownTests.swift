import CroniumCore
import CroniumEngine
import CroniumStore
import CroniumTesting
import Foundation
import Logging
import Testing

@Suite struct ShutdownTests {
    /// On SIGTERM a run that ends within the grace period is recorded as it ended; one that does
    /// not is stopped and recorded as interrupted (as after a crash, not as a person's cancel),
    /// saying why. Nothing is left RUNNING.
    @Test func shutdownDrainsShortRunsAndInterruptsLongOnes() async throws {
        let directory = try TemporaryDirectory("shutdown")
        defer { directory.remove() }
        // A grace period with room for a loaded machine: the short run needs 0.3 s and its end's record.
        let (shortRun, longRun, started) = try await withEngine(configuration: .init(shutdownGracePeriod: .seconds(2)), directory: directory) {
            harness in
            let short = try await harness.createEvent { $0.content = "sleep 0.3; echo done" }
            let long = try await harness.createEvent { $0.content = "sleep 30" }
            let shortRun = try await harness.engine.enqueue(eventId: short.id, trigger: .manual, triggeredBy: nil)
            let longRun = try await harness.engine.enqueue(eventId: long.id, trigger: .manual, triggeredBy: nil)
            #expect(
                try await eventually {
                    try await harness.store.executions().filter { $0.status == .running }.count == 2
                }
            )
            // The engine stops as the scope ends, as on SIGTERM.
            return (shortRun, longRun, ContinuousClock.now)
        }
        // Far below the long run's 30 s, with room for a loaded machine (the SIGTERM-then-SIGKILL
        // grace is 5 s).
        #expect(ContinuousClock.now - started < .seconds(15))
        let store = try await Database.openSQLite(path: directory.appending("cronium.sqlite"), logger: .init(label: "t"))

        let shortExecution = try #require(try await store.execution(id: shortRun))
        let longExecution = try #require(try await store.execution(id: longRun))
        #expect(shortExecution.status == .success)
        #expect(longExecution.status == .failure && longExecution.errorCode == .interrupted)
        #expect(longExecution.error == "Cronium was shutting down")
        #expect(try await store.logLines(executionId: shortRun).map(\.text) == ["done"])
        try await store.shutdown()
    }
}

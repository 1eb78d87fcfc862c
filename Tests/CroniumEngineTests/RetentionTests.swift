import CroniumCore
import CroniumEngine
import CroniumStore
import CroniumTesting
import Foundation
import Testing

@Suite struct RetentionTests {
    static let t0 = Date(timeIntervalSince1970: 1_780_000_000)
    static let day: TimeInterval = 86_400

    /// Server defaults of 10 days for runs and 3 for logs; one event keeps only its last two runs,
    /// another keeps everything. The clock moves on and each purge removes exactly what has
    /// outlived its limit: logs first, then runs, a workflow run whole, ledger rows; a run not yet
    /// ended is never touched, and a purge with nothing due removes nothing.
    @Test func aPurgeRemovesWhatOutlivedItsLimitsAndNothingElse() async throws {
        var configuration = Engine.Configuration.forTests
        configuration.retention.defaults = Retention(runsDays: 10, lastRuns: 0, logsDays: 3)
        configuration.retention.interval = .seconds(3600)
        let clock = ManualClock(now: Self.t0)
        try await withEngine(clock: clock, configuration: configuration) { harness in
            let engine = harness.engine
            let plain = try await harness.createEvent {
                $0.name = "plain"
                $0.content = "echo plain"
            }
            let lastTwo = try await harness.createEvent {
                $0.name = "last-two"
                $0.content = "echo last-two"
                $0.retention = Retention(lastRuns: 2)
            }
            let forever = try await harness.createEvent {
                $0.name = "forever"
                $0.content = "echo forever"
                $0.retention = Retention(runsDays: 0, logsDays: 0)
            }
            let later = try await harness.createEvent { $0.name = "later" }
            func runs(_ event: Event, _ count: Int) async throws -> [ExecutionID] {
                var ids: [ExecutionID] = []
                for _ in 0..<count {
                    let id = try await engine.enqueue(eventId: event.id, trigger: .manual, triggeredBy: harness.owner.id)
                    #expect(try await harness.finished(id).status == .success)
                    ids.append(id)
                }
                return ids
            }
            let plainRuns = try await runs(plain, 3)
            let lastTwoRuns = try await runs(lastTwo, 4)
            let foreverRuns = try await runs(forever, 2)
            // Queued for day 100: it has not ended, so no limit applies to it.
            let waiting = try await harness.store.enqueue(
                EnqueueRequest(eventId: later.id, trigger: .manual, runAt: Self.t0 + 100 * Self.day, triggeredBy: nil),
                now: Self.t0
            )
            let node = try await harness.createEvent {
                $0.name = "node"
                $0.content = "echo node"
            }
            let workflow = try await engine.createWorkflow(
                WorkflowInput(name: "flow", nodes: [WorkflowNode(key: "n", eventName: node.name)]),
                by: harness.owner
            )
            let workflowRun = try await engine.runWorkflow(id: workflow.id, by: harness.owner)
            #expect(
                try await eventually(timeout: .seconds(60)) {
                    try await engine.workflowRun(id: workflowRun, visibleTo: harness.owner).status == .success
                }
            )
            try await harness.store.recordFires(
                [
                    FireRecord(
                        occurrence: ScheduleOccurrence(eventId: plain.id, scheduledFor: Self.t0, recordedAt: Self.t0, outcome: .missed),
                        run: nil
                    )
                ],
                states: [],
                now: Self.t0
            )

            // Day 4: the logs of the runs under the defaults go (each replaced by a note), those
            // of `forever` stay; `last-two` keeps its two newest runs.
            clock.advance(to: Self.t0 + 4 * Self.day)
            let first = try await engine.purgeNow()
            #expect(first.removed == ["logs": 3 + 2 + 1, "runs": 2])
            for id in plainRuns + lastTwoRuns.suffix(2) {
                let run = try #require(try await harness.store.execution(id: id))
                #expect(run.logsRemovedAt == Self.t0 + 4 * Self.day)
                let lines = try await harness.store.logLines(executionId: id, afterSeq: 0, limit: 10)
                #expect(lines.count == 1 && lines[0].stream == .system && lines[0].text.contains("removed by the retention policy"))
            }
            for id in lastTwoRuns.prefix(2) { #expect(try await harness.store.execution(id: id) == nil) }
            for id in foreverRuns {
                #expect(try await harness.store.logLines(executionId: id, afterSeq: 0, limit: 10).map(\.text) == ["forever"])
            }

            // Day 11: every run under the defaults goes, the workflow run with its node's run, and
            // the ledger row; `forever` and the run still waiting stay.
            clock.advance(to: Self.t0 + 11 * Self.day)
            let second = try await engine.purgeNow()
            #expect(second.removed == ["runs": 3 + 2, "workflow_runs": 1, "event_ledger": 1])
            let left = try await harness.store.executions(eventId: nil, status: nil, visibleTo: nil, beforeId: nil, limit: 50)
            #expect(Set(left.map(\.id)) == Set(foreverRuns + [waiting]))
            #expect(try await harness.store.workflowRun(id: workflowRun) == nil)
            #expect(try await harness.store.ledger(eventId: plain.id).isEmpty)

            #expect(try await engine.purgeNow().removed.isEmpty)
            let report = try await engine.storageReport()
            #expect(report.storage.runs == 3 && report.retention == configuration.retention.defaults)
            #expect(report.lastPurge?.removed.isEmpty == true)
        }
    }
}

import CroniumCore
import CroniumEngine
import CroniumExecutors
import CroniumStore
import CroniumTesting
import Foundation
import Testing

/// Scheduled workflows, driven by a manual clock: the same timetable, policies and ledger as
/// events, with workflow runs in place of runs.
@Suite struct WorkflowScheduleTests {
    static let t0 = Date(timeIntervalSince1970: 1_900_000_000)
    let runs = WorkflowRunTests()

    func scheduledWorkflow(_ harness: EngineHarness, _ schedule: Schedule, overlap: OverlapPolicy? = nil) async throws -> Workflow {
        let workflow = try await harness.engine.createWorkflow(
            WorkflowInput(
                name: "nightly",
                trigger: .schedule,
                schedule: schedule,
                overlap: overlap,
                nodes: [WorkflowNode(key: "first", eventName: "first"), WorkflowNode(key: "second", eventName: "second")],
                connections: [WorkflowConnection(from: "first", to: "second")]
            ),
            by: harness.owner
        )
        // The scheduler plans from the time it learns of the workflow; the clock must not move before.
        #expect(try await eventually { harness.engine.scheduler.isSettled && harness.engine.scheduler.nextFire(of: .workflow(workflow.id)) != nil })
        return workflow
    }

    /// The ledger oldest first, as (seconds after t0, outcome).
    func ledger(_ harness: EngineHarness, _ id: WorkflowID, count: Int) async throws -> [WorkflowOccurrence] {
        var rows: [WorkflowOccurrence] = []
        _ = try await eventually(timeout: .seconds(30)) {
            rows = try await harness.engine.workflowLedger(id: id, visibleTo: harness.owner, limit: 100, offset: 0).reversed()
            return rows.count >= count
        }
        return rows
    }

    func offsets(_ rows: [WorkflowOccurrence]) -> [Int] { rows.map { Int($0.scheduledFor.timeIntervalSince(Self.t0)) } }

    func allEnded(_ harness: EngineHarness, _ id: WorkflowID, count: Int) async throws -> [WorkflowRun] {
        var all: [WorkflowRun] = []
        _ = try await eventually(timeout: .seconds(60)) {
            all = try await harness.engine.workflowRuns(workflowId: id, visibleTo: harness.owner, limit: 50).reversed()
            return all.count == count && all.allSatisfy { $0.status != .running && $0.status != .queued }
        }
        return all
    }

    /// A workflow on an interval fires on time, each fire a ledger row naming its run; after a
    /// restart the misfire policy judges the downtime as for events (`last`: the latest runs).
    @Test func aScheduledWorkflowFiresOnTimeAndCatchesUpAfterARestart() async throws {
        let directory = try TemporaryDirectory("workflow-schedule")
        defer { directory.remove() }
        let echo = EchoExecutor()
        let workflow = try await withEngine(
            clock: ManualClock(now: Self.t0),
            directory: directory,
            executors: { $0.register(echo, at: .local, for: [.bash]) }
        ) {
            harness in
            try await runs.events(harness, ["first": "ok", "second": "ok"])
            let workflow = try await scheduledWorkflow(harness, .interval(seconds: 10))
            #expect(harness.engine.scheduler.nextFire(of: .workflow(workflow.id)) == Self.t0 + 10)
            let next = try await harness.engine.upcomingFires(workflowId: workflow.id, visibleTo: harness.owner, count: 3)
            #expect(next.fires && next.times == [10, 20, 30].map { Self.t0 + TimeInterval($0) })
            (harness.clock as! ManualClock).advance(to: Self.t0 + 10)
            let rows = try await ledger(harness, workflow.id, count: 1)
            #expect(rows.map(\.outcome) == [.ran])
            let run = try await runs.finished(harness, try #require(rows[0].workflowRunId))
            #expect(run.status == .success && run.trigger == .schedule)
            #expect(try await eventually { harness.engine.scheduler.nextFire(of: .workflow(workflow.id)) == Self.t0 + 20 })
            return workflow
        }
        // Down from t0+10 to t0+48: 20, 30 and 40 fell due meanwhile, all later than the threshold (5 s).
        try await withEngine(clock: ManualClock(now: Self.t0 + 48), directory: directory, executors: { $0.register(echo, at: .local, for: [.bash]) })
        {
            harness in
            let rows = try await ledger(harness, workflow.id, count: 4)
            #expect(offsets(rows) == [10, 20, 30, 40])
            #expect(rows.map(\.outcome) == [.ran, .missed, .missed, .caughtUp])
            #expect(rows[1].reason?.contains("misfire policy last") == true)
            let all = try await allEnded(harness, workflow.id, count: 2)
            #expect(all.map(\.status) == [.success, .success])
            #expect(try await eventually { harness.engine.scheduler.nextFire(of: .workflow(workflow.id)) == Self.t0 + 50 })
        }
    }

    /// A fire while the previous run is going obeys the workflow's overlap policy.
    @Test(arguments: [OverlapPolicy.skip, .queue, .replace, .allow])
    func aFireWhileARunIsGoingObeysTheOverlapPolicy(policy: OverlapPolicy) async throws {
        let echo = EchoExecutor()
        try await withEngine(clock: ManualClock(now: Self.t0), executors: { $0.register(echo, at: .local, for: [.bash]) }) { harness in
            let clock = harness.clock as! ManualClock
            try await runs.events(harness, ["first": "sleep 2", "second": "ok"])
            let workflow = try await scheduledWorkflow(harness, .interval(seconds: 10), overlap: policy)
            #expect(workflow.schedule?.overlap == policy)
            clock.advance(to: Self.t0 + 10)
            _ = try await ledger(harness, workflow.id, count: 1)
            clock.advance(to: Self.t0 + 20)
            let rows = try await ledger(harness, workflow.id, count: 2)
            let expected: [OverlapPolicy: OccurrenceOutcome] = [.skip: .skipped, .queue: .queued, .replace: .replaced, .allow: .ran]
            #expect(rows.map(\.outcome) == [.ran, expected[policy]!])
            let all = try await allEnded(harness, workflow.id, count: policy == .skip ? 1 : 2)
            switch policy {
            case .skip: #expect(all.map(\.status) == [.success])
            case .replace: #expect(all.map(\.status) == [.cancelled, .success])
            case .queue, .allow: #expect(all.map(\.status) == [.success, .success])
            }
            if policy == .queue {
                // The queued run began only when the first had ended.
                let firstEnd = try #require(all[0].finishedAt)
                #expect(try #require(all[1].nodes[0].startedAt) >= firstEnd)
            }
        }
    }

    /// Paused, a workflow does not fire; resumed, its timetable starts again from now.
    @Test func aPausedWorkflowDoesNotFire() async throws {
        let echo = EchoExecutor()
        try await withEngine(clock: ManualClock(now: Self.t0), executors: { $0.register(echo, at: .local, for: [.bash]) }) { harness in
            try await runs.events(harness, ["first": "ok", "second": "ok"])
            let workflow = try await scheduledWorkflow(harness, .interval(seconds: 10))
            let paused = try await harness.engine.updateWorkflow(id: workflow.id, with: .init(status: .paused), by: harness.owner)
            #expect(
                try await eventually { harness.engine.scheduler.isSettled && harness.engine.scheduler.nextFire(of: .workflow(workflow.id)) == nil }
            )
            let passes = harness.engine.scheduler.passes
            (harness.clock as! ManualClock).advance(to: Self.t0 + 30)
            #expect(try await eventually { harness.engine.scheduler.passes > passes })
            #expect(try await harness.engine.workflowLedger(id: workflow.id, visibleTo: harness.owner, limit: 10, offset: 0).isEmpty)
            let next = try await harness.engine.upcomingFires(workflowId: paused.id, visibleTo: harness.owner, count: 1)
            #expect(!next.fires && next.times == [Self.t0 + 40])
            _ = try await harness.engine.updateWorkflow(id: workflow.id, with: .init(status: .active), by: harness.owner)
            #expect(try await eventually { harness.engine.scheduler.nextFire(of: .workflow(workflow.id)) == Self.t0 + 40 })
        }
    }
}

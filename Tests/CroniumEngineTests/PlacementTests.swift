import CroniumCore
import CroniumEngine
import CroniumExecutors
import CroniumTesting
import Foundation
import SQLKit
import Synchronization
import Testing

@testable import CroniumStore

/// An executor for a placement the engine knows nothing special about: it records what the engine
/// handed it and behaves as each test says.
final class FakePlacementExecutor: Executor {
    enum Behaviour: Sendable {
        case succeed(outputValue: String, condition: Bool)
        case refuseToPrepare
        /// Runs until the engine stops it.
        case hang
    }
    let behaviour: Behaviour
    let contexts = Mutex<[ExecutionContext]>([])
    let teardowns = Mutex(0)
    let stoppedByRequest = Mutex(false)

    init(_ behaviour: Behaviour) { self.behaviour = behaviour }

    func prepare(_ context: ExecutionContext, output: RunOutput) async throws(ExecutionError) -> any PreparedRun {
        contexts.withLock { $0.append(context) }
        if case .refuseToPrepare = behaviour { throw ExecutionError(.startFailed, "no such image: missing:latest") }
        return Run(executor: self)
    }

    struct Run: PreparedRun {
        let executor: FakePlacementExecutor

        func run(output: RunOutput, stops: StopRequests) async -> ExecutionOutcome {
            await output(.stdout, "ran in the fake placement")
            switch executor.behaviour {
            case .succeed(let value, let condition):
                var outcome = ExecutionOutcome.success
                outcome.outputValue = value
                outcome.condition = condition
                return outcome
            case .hang, .refuseToPrepare:
                // Until the engine asks it to stop; an executor only starts, streams and stops.
                for await request in stops where request == .terminate {
                    executor.stoppedByRequest.withLock { $0 = true }
                    break
                }
                return .failure(.killedBySignal, "killed by signal 15", exitCode: 143)
            }
        }

        func teardown() async { executor.teardowns.withLock { $0 += 1 } }
    }
}

@Suite struct PlacementTests {
    /// An engine with `fake` as its `CONTAINER` placement, for `body`.
    func withFake(_ fake: FakePlacementExecutor, _ body: (EngineHarness) async throws -> Void) async throws {
        try await withEngine(executors: { $0.register(fake, at: .container, for: [.bash, .python]) }, body)
    }

    @Test func theRunLocationPicksTheExecutorAndItsOutcomeIsRecorded() async throws {
        let fake = FakePlacementExecutor(.succeed(outputValue: #"{"rows":3}"#, condition: true))
        try await withFake(fake) { harness in
            let contained = try await harness.createEvent {
                $0.runLocation = .container
                $0.environment = ["STAGE": "test"]
            }
            let local = try await harness.createEvent { $0.content = "echo local" }
            let inContainer = try await harness.finished(try await harness.engine.enqueue(eventId: contained.id, trigger: .manual, triggeredBy: nil))
            let onHost = try await harness.finished(try await harness.engine.enqueue(eventId: local.id, trigger: .manual, triggeredBy: nil))

            #expect(inContainer.status == .success)
            #expect(inContainer.outputValue == .object(["rows": .integer(3)]) && inContainer.condition == true)
            #expect(try await harness.store.logLines(executionId: inContainer.id).map(\.text) == ["ran in the fake placement"])
            let context = try #require(fake.contexts.withLock { $0.first })
            #expect(fake.contexts.withLock { $0.count } == 1)
            #expect(context.executionId == inContainer.id && context.event.id == contained.id)
            #expect(context.attempt == 1 && context.trigger == .manual)
            #expect(context.environment["STAGE"] == "test" && context.environment["CRONIUM_EXECUTION_ID"] == "\(inContainer.id)")
            #expect(context.deadline > .now && context.deadline < .now + .seconds(contained.timeoutSeconds))
            #expect(fake.teardowns.withLock { $0 } == 1)
            #expect(onHost.status == .success)
            #expect(try await harness.store.logLines(executionId: onHost.id).map(\.text) == ["local"])
        }
    }

    @Test func aLocationWithoutAnExecutorIsRefusedAndChangesNothing() async throws {
        try await withFake(FakePlacementExecutor(.refuseToPrepare)) { (harness: EngineHarness) async throws in
            for (location, type) in [(RunLocation.remote, EventType.bash), (.container, .nodejs)] {
                let error = await #expect(throws: ValidationError.self) {
                    _ = try await harness.createEvent {
                        $0.runLocation = location
                        $0.type = type
                        if location == .remote { $0.serverTag = "web" }
                    }
                }
                #expect(error?.problems.map(\.field) == ["runLocation"])
                #expect(error?.problems.first?.message.contains(location.rawValue) == true)
            }
            #expect(try await harness.store.events(ownerOrShared: nil).isEmpty)
        }
    }

    @Test func aPlacementThatCannotPrepareFailsTheRunWithItsReason() async throws {
        let fake = FakePlacementExecutor(.refuseToPrepare)
        try await withFake(fake) { harness in
            let event = try await harness.createEvent { $0.runLocation = .container }
            let run = try await harness.finished(try await harness.engine.enqueue(eventId: event.id, trigger: .manual, triggeredBy: nil))
            #expect(run.status == .failure && run.errorCode == .startFailed)
            #expect(run.error == "no such image: missing:latest")
            #expect(fake.teardowns.withLock { $0 } == 0)
        }
    }

    /// Deadlines and cancels are the engine's: the executor is asked to stop, it stops, and the
    /// engine decides the status and the reason.
    @Test func theEngineTimesOutAndCancelsRunsOfAnyPlacement() async throws {
        let fake = FakePlacementExecutor(.hang)
        try await withFake(fake) { harness in
            let slow = try await harness.createEvent {
                $0.runLocation = .container
                $0.timeoutValue = 1
                $0.timeoutUnit = .seconds
            }
            let timedOut = try await harness.finished(try await harness.engine.enqueue(eventId: slow.id, trigger: .manual, triggeredBy: nil))
            #expect(timedOut.status == .timeout && timedOut.errorCode == .timedOut && timedOut.error == "timed out after 1s")
            #expect(timedOut.exitCode == 143)
            #expect(fake.stoppedByRequest.withLock { $0 })

            let held = try await harness.createEvent { $0.runLocation = .container }
            let id = try await harness.engine.enqueue(eventId: held.id, trigger: .manual, triggeredBy: nil)
            #expect(try await eventually { fake.contexts.withLock { $0.count } == 2 })
            #expect(try await harness.engine.cancel(executionId: id, reason: "stop it"))
            // Recorded before the run is told, so a node that did not take the request can see it.
            let recorded = try await harness.store.read { sql in
                try await sql.raw("SELECT cancel_reason FROM executions WHERE id = \(bind: id)").first(
                    decodingColumn: "cancel_reason",
                    as: String?.self
                )
            }
            #expect(recorded == "stop it")
            let cancelled = try await harness.finished(id, timeout: .seconds(5))
            #expect(cancelled.status == .cancelled && cancelled.errorCode == .cancelled && cancelled.error == "stop it")
            #expect(fake.teardowns.withLock { $0 } == 2)
        }
    }
}

import CroniumCore
import CroniumStore
import CroniumTesting
import Foundation
import Logging
import Testing

@testable import CroniumServer

#if canImport(Glibc)
    import Glibc
#endif

extension CrashRecoveryTests {
    /// kill -9 of `cronium serve` while a workflow's node runs: after the restart that node ends
    /// as an interrupted failure, its ON_FAILURE branch runs, the ON_SUCCESS one is skipped, the
    /// run ends PARTIAL, and every node ran exactly once.
    @Test func killingTheServerMidWorkflowLetsTheRunFinishAfterTheRestart() async throws {
        let directory = try TemporaryDirectory("crash-workflow")
        defer { directory.remove() }
        let data = directory.appending("data")
        let first = try await ServerProcess.start(dataDirectory: data)
        let url = "http://127.0.0.1:\(first.port)"
        let token = try String(contentsOfFile: "\(data)/initial-admin-token", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let marker = "32\(Int.random(in: 100_000...999_999))"
        for (name, script) in [("quick", "true"), ("slow", "sleep \(marker)"), ("repair", "true"), ("report", "true")] {
            let created = try await CLITests.cli(["event", "create", "--name", name, "--type", "bash", "--script", script], url: url, token: token)
            #expect(created.status == 0, "\(created.stderr)")
        }
        let document = """
            name: interrupted
            nodes:
              - {key: quick, eventName: quick}
              - {key: slow, eventName: slow}
              - {key: repair, eventName: repair}
              - {key: report, eventName: report}
            connections:
              - {from: quick, to: slow}
              - {from: slow, to: repair, when: ON_FAILURE}
              - {from: slow, to: report}
            """
        let created = try await CLITests.cli(["workflow", "create", "--file", "-"], url: url, token: token, input: document)
        #expect(created.status == 0, "\(created.stderr)")
        let started = try await CLITests.cli(["workflow", "run", "1"], url: url, token: token)
        #expect(started.stdout.contains("started workflow run 1"), "\(started.stderr)")
        #expect(try await eventually { !livePIDs(withMarker: marker).isEmpty }, "the slow node never started")

        kill(first.serverPid, SIGKILL)
        #expect(try await eventually { !first.process.isRunning })

        let second = try await ServerProcess.start(dataDirectory: data)
        let secondURL = "http://127.0.0.1:\(second.port)"
        var run: WorkflowRun?
        #expect(
            try await eventually(timeout: .seconds(60)) {
                let shown = try await CLITests.cli(["workflow", "runs", "1", "--json"], url: secondURL, token: token)
                run = try JSONDecoder.cronium.decode([WorkflowRun].self, from: Data(shown.stdout.utf8)).first
                return run?.status.isFinal == true
            }
        )
        second.process.terminate()
        #expect(try await eventually { !second.process.isRunning })
        let finished = try #require(run)
        #expect(finished.status == .partial, "\(finished)")
        let states = Dictionary(uniqueKeysWithValues: finished.nodes.map { ($0.key, $0.state) })
        #expect(states["quick"] == .ended(.success, condition: nil) && states["slow"] == .ended(.failure, condition: nil))
        #expect(states["repair"] == .ended(.success, condition: nil))
        #expect(states["report"] == .skipped(reason: "slow -[ON_SUCCESS]-> report did not hold: slow ended FAILURE"))

        let store = try await Database.openSQLite(path: "\(data)/cronium.sqlite", logger: .init(label: "t"))
        let executions = try await store.executions(eventId: nil, status: nil, visibleTo: nil, beforeId: nil, limit: 50)
        #expect(executions.compactMap(\.workflowNode).sorted() == ["quick", "repair", "slow"], "every node that ran, once")
        #expect(executions.first { $0.workflowNode == "slow" }?.errorCode == .interrupted)
        try await store.shutdown()
        for pid in livePIDs(withMarker: marker) { kill(pid, SIGKILL) }
    }
}

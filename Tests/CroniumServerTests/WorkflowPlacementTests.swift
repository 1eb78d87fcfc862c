import CroniumCore
import CroniumTesting
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

@testable import CroniumServer

/// One workflow whose nodes run in three places, set on the nodes: a container, a server over
/// SSH (through its runner) and the local sandbox, each handing its output to the next.
@Suite(.enabled(if: ServerFixture.containerSocket != nil, "needs a container engine: run scripts/test.sh"))
struct WorkflowPlacementTests {
    @Test func nodesInAContainerOnAServerAndHereHandDataOn() async throws {
        let host = try await SSHHost.start()
        defer { host.stop() }
        let fixture = try await ContainerTests.fixture()
        try await fixture.test(.live) { client in
            let token = fixture.adminToken
            try await RemoteRunTests.addServer(client, token, "web-1", host)
            let runs = RunsClient(client: client, token: token)
            // One script for every place: it says where it ran and what it got.
            _ = try await runs.create("where", .bash, #"cronium_output "{\"uid\": $(id -u), \"got\": $(cronium_input)}""#)
            let document = #"""
                {"name": "three-places",
                 "nodes": [{"key": "box", "eventName": "where", "runLocation": "CONTAINER"},
                           {"key": "host", "eventName": "where", "runLocation": "REMOTE", "servers": ["web-1"]},
                           {"key": "here", "eventName": "where"}],
                 "connections": [{"from": "box", "to": "host"}, {"from": "host", "to": "here"}]}
                """#
            let created = try await send(client, token, .post, "/api/v1/workflows", document)
            #expect(created.status == 201, "\(created.body)")
            let workflow = try JSONDecoder.cronium.decode(Workflow.self, from: Data(created.body.utf8))
            let started = try await send(client, token, .post, "/api/v1/workflows/\(workflow.id)/run", #"{"input": {"n": 1}}"#)
            struct Started: Decodable { let runId: WorkflowRunID }
            let runId = try JSONDecoder.cronium.decode(Started.self, from: Data(started.body.utf8)).runId
            var run: WorkflowRun?
            #expect(
                try await eventually(timeout: .seconds(120)) {
                    let answer = try await send(client, token, .get, "/api/v1/workflows/\(workflow.id)/runs/\(runId)")
                    run = try JSONDecoder.cronium.decode(WorkflowRun.self, from: Data(answer.body.utf8))
                    return run?.status.isFinal == true
                }
            )
            let finished = try #require(run)
            #expect(finished.status == .success, "\(finished)")
            let outputs = Dictionary(uniqueKeysWithValues: finished.nodes.map { ($0.key, $0.output ?? .null) })
            func field(_ value: JSONValue?, _ key: String) -> JSONValue? {
                if case .object(let fields) = value { fields[key] } else { nil }
            }
            let box = outputs["box"]
            // The container's user is 1000; what it got is the run's input.
            #expect(field(box, "got") == .object(["n": .integer(1)]) && field(box, "uid") == .integer(1000), "\(String(describing: box))")
            // A run on servers hands on each server's part: {"servers": [{"server", …, "output"}]}.
            let remote = outputs["host"]
            guard case .array(let parts) = field(remote, "servers"), let part = parts.first else {
                Issue.record("the REMOTE node's output has no servers: \(String(describing: remote))")
                return
            }
            #expect(field(part, "server") == .string("web-1"))
            let onHost = field(part, "output")
            #expect(field(onHost, "got") == box && field(onHost, "uid") == .integer(Int64(getpwnam(SSHHost.user).pointee.pw_uid)), "\(part)")
            #expect(field(outputs["here"], "got") == remote)
            for node in finished.nodes {
                let execution = try await runs.execution(try #require(node.executionId))
                #expect(execution.workflowRunId == runId && execution.workflowNode == node.key)
                if node.key == "host" { #expect(execution.parts?.map(\.server) == ["web-1"], "\(execution)") }
            }
        }
    }
}

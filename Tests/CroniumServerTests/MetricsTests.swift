import CroniumCore
import CroniumTesting
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

@testable import CroniumServer

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

@Suite struct MetricsTests {
    /// `/metrics` counts a run from its receipt to its end, the API request that asked for it,
    /// and is behind the API's authentication.
    @Test func metricsCountARunAndTheRequests() async throws {
        let fixture = try await ServerFixture()
        try await fixture.test { client in
            var input = EventInput()
            input.name = "counted"
            input.type = .bash
            input.content = "exit 3"
            let event = try await client.execute(uri: "/api/v1/events", method: .post, headers: auth(fixture.adminToken), body: try json(input)) {
                try decode(Event.self, $0)
            }
            struct Started: Decodable { let executionId: ExecutionID }
            let started = try await client.execute(uri: "/api/v1/events/\(event.id)/run", method: .post, headers: auth(fixture.adminToken)) {
                try decode(Started.self, $0)
            }
            #expect(
                try await eventually {
                    try await client.execute(uri: "/api/v1/executions/\(started.executionId)", method: .get, headers: auth(fixture.adminToken)) {
                        try decode(Execution.self, $0).status.isFinal
                    }
                }
            )
            let expected = [
                #"cronium_runs_received_total{trigger="MANUAL"} 1"#, #"cronium_runs_finished_total{type="BASH",status="FAILURE"} 1"#,
                #"cronium_runs_failed_total{type="BASH",reason="EXIT_STATUS"} 1"#, #"cronium_run_duration_seconds_count{type="BASH"} 1"#,
                "cronium_runs_active 0.0", "cronium_queue_depth 0.0",
                #"cronium_http_requests_total{route="/api/v1/events/{id}/run",method="POST",status="202"} 1"#,
            ]
            // The counters move just after the end is recorded: a run read as ended may be a
            // moment ahead of them on a busy machine.
            var text = ""
            _ = try await eventually {
                text = try await client.execute(uri: "/metrics", method: .get, headers: auth(fixture.adminToken)) { response in
                    #expect(response.status == .ok)
                    #expect(response.headers[.contentType]?.hasPrefix("text/plain; version=0.0.4") == true)
                    return String(buffer: response.body)
                }
                return expected.allSatisfy { text.contains($0 + "\n") }
            }
            for line in expected {
                #expect(text.contains(line + "\n"), "\(line) is missing from:\n\(text)")
            }
            try await client.execute(uri: "/metrics", method: .get) { #expect($0.status == .unauthorized) }
        }
    }

    /// `--metrics-port`: `/metrics` alone, without a token, on a listener of its own.
    @Test func aMetricsPortServesMetricsWithoutAToken() async throws {
        let port = Int.random(in: 20_000...40_000)
        let fixture = try await ServerFixture { $0.metricsPort = port }
        try await fixture.test(.live) { client in
            var body = ""
            #expect(
                try await eventually {
                    guard let (data, response) = try? await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)/metrics")!) else {
                        return false
                    }
                    body = String(decoding: data, as: UTF8.self)
                    return (response as? HTTPURLResponse)?.statusCode == 200
                }
            )
            #expect(body.contains("cronium_queue_depth 0.0\n"))
            let (_, other) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)/api/v1/events")!)
            #expect((other as? HTTPURLResponse)?.statusCode == 404)
            try await client.execute(uri: "/metrics", method: .get) { #expect($0.status == .unauthorized) }
        }
    }
}

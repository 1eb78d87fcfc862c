import CroniumCore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@testable import CroniumServer

/// `GET /api/v1/executions/stats`: what the dashboard counts and draws.
@Suite struct ExecutionStatsTests {
    @Test func runsAreCountedBySliceAndStatusForThoseWhoMaySeeThem() async throws {
        let fixture = try await ServerFixture()
        try await fixture.test { client in
            let admin = fixture.adminToken
            let runs = RunsClient(client: client, token: admin)
            let ok = try await runs.create("ok", .bash, "sleep 0.05")
            let bad = try await runs.create("bad", .bash, "exit 3")
            for _ in 0..<2 { #expect(try await runs.run(ok).status == .success) }
            #expect(try await runs.run(bad).status == .failure)
            let held = try await runs.create("held", .bash, "sleep 30")
            let going = try await runs.start(held)
            while try await runs.execution(going).status != .running { try await Task.sleep(for: .milliseconds(20)) }

            let day = try await client.execute(uri: "/api/v1/executions/stats", method: .get, headers: auth(admin)) {
                try decode(ExecutionStats.self, $0)
            }
            #expect(day.sliceSeconds == 3600 && day.buckets.count == 24)
            #expect(day.running == 1 && day.pending == 0)
            let now = try #require(day.buckets.last)
            #expect(now.start <= Date() && Date() < now.start + 3600)
            #expect(now.ended == ["SUCCESS": 2, "FAILURE": 1])
            #expect((now.maxDurationMs ?? 0) >= 50 && (now.meanDurationMs ?? 0) <= (now.maxDurationMs ?? 0))
            #expect(day.buckets.dropLast().allSatisfy { $0.ended.isEmpty })

            let week = try await client.execute(uri: "/api/v1/executions/stats?window=7d", method: .get, headers: auth(admin)) {
                try decode(ExecutionStats.self, $0)
            }
            #expect(week.sliceSeconds == 86400 && week.buckets.count == 7 && week.buckets.last?.ended["SUCCESS"] == 2)

            let wrong = try await send(client, admin, .get, "/api/v1/executions/stats?window=1y")
            #expect(wrong.status == 400 && wrong.body.contains("24h"))

            // Another user sees none of the admin's runs.
            let other = try await makeUser(client, admin: admin, name: "gus", role: .user)
            let theirs = try await client.execute(uri: "/api/v1/executions/stats", method: .get, headers: auth(other)) {
                try decode(ExecutionStats.self, $0)
            }
            #expect(theirs.running == 0 && theirs.buckets.allSatisfy { $0.ended.isEmpty })
            _ = try await send(client, admin, .post, "/api/v1/executions/\(going)/cancel")
            _ = try await runs.ended(going)
        }
    }
}

import CroniumCore
import CroniumTesting
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

@testable import CroniumServer

/// Events show when they fire next and how their latest run went; `…/next` lists fire times.
@Suite struct EventOverviewTests {
    @Test func eventsShowTheirNextFireAndLatestRun() async throws {
        let fixture = try await ServerFixture()
        try await fixture.test(.live) { client in
            let headers = auth(fixture.adminToken)
            var input = EventInput()
            input.name = "nightly"
            input.type = .bash
            input.content = "true"
            input.status = .active
            input.schedule = .cron("0 3 * * *", timeZone: "Europe/Berlin")
            let expected = try #require(try input.schedule!.firstFire(notBefore: Date()))
            let created = try await client.execute(uri: "/api/v1/events", method: .post, headers: headers, body: try json(input)) {
                try decode(EventOverview.self, $0)
            }
            #expect(created.nextFireAt == expected && created.lastExecution == nil)

            try await client.execute(uri: "/api/v1/events/\(created.event.id)/next?count=3", method: .get, headers: headers) { response in
                let upcoming = try decode(UpcomingFires.self, response)
                #expect(upcoming.fires && upcoming.timeZone == "Europe/Berlin" && upcoming.status == .active)
                #expect(upcoming.times.count == 3 && upcoming.times.first == expected)
                // A day apart: 24 hours, or 23 or 25 across a DST change.
                #expect([82_800, 86_400, 90_000].contains(upcoming.times[1].timeIntervalSince(upcoming.times[0])))
            }
            for bad in ["0", "1001", "abc"] {
                try await client.execute(uri: "/api/v1/events/\(created.event.id)/next?count=\(bad)", method: .get, headers: headers) { response in
                    #expect(response.status == .badRequest, "count=\(bad)")
                }
            }
            try await client.execute(uri: "/api/v1/events/999/next", method: .get, headers: headers) { #expect($0.status == .notFound) }

            // Paused: no next fire, but the times it would fire once active.
            let paused = try await client.execute(
                uri: "/api/v1/events/\(created.event.id)",
                method: .patch,
                headers: headers,
                body: ByteBuffer(string: #"{"status":"PAUSED"}"#)
            ) { try decode(EventOverview.self, $0) }
            #expect(paused.nextFireAt == nil)
            try await client.execute(uri: "/api/v1/events/\(created.event.id)/next", method: .get, headers: headers) { response in
                let upcoming = try decode(UpcomingFires.self, response)
                #expect(!upcoming.fires && upcoming.status == .paused && upcoming.times.count == 5 && upcoming.times.first == expected)
            }

            // A manual event: no fire times; its latest run once it ran, whatever its state.
            var manual = EventInput()
            manual.name = "by hand"
            manual.type = .bash
            manual.content = "exit 3"
            let byHand = try await client.execute(uri: "/api/v1/events", method: .post, headers: headers, body: try json(manual)) {
                try decode(Event.self, $0)
            }
            struct Started: Decodable { let executionId: ExecutionID }
            var runs: [ExecutionID] = []
            for _ in 0..<2 {
                runs.append(
                    try await client.execute(uri: "/api/v1/events/\(byHand.id)/run", method: .post, headers: headers) {
                        try decode(Started.self, $0).executionId
                    }
                )
            }
            var shown: EventOverview?
            #expect(
                try await eventually(timeout: .seconds(90)) {
                    shown = try await client.execute(uri: "/api/v1/events/\(byHand.id)", method: .get, headers: headers) {
                        try decode(EventOverview.self, $0)
                    }
                    return shown?.lastExecution?.status.isFinal == true
                }
            )
            #expect(shown?.lastExecution?.id == runs.last && shown?.lastExecution?.status == .failure && shown?.lastExecution?.exitCode == 3)
            #expect(shown?.nextFireAt == nil)
            try await client.execute(uri: "/api/v1/events/\(byHand.id)/next", method: .get, headers: headers) { response in
                let upcoming = try decode(UpcomingFires.self, response)
                #expect(upcoming.times.isEmpty && upcoming.timeZone == nil && !upcoming.fires)
            }

            // The list carries both for every event, and a shown event sent back is accepted.
            let list = try await client.execute(uri: "/api/v1/events", method: .get, headers: headers) { try decode([EventOverview].self, $0) }
            #expect(list.map(\.event.id) == [created.event.id, byHand.id] && list[1].lastExecution?.id == runs.last && list[0].lastExecution == nil)
            let echoed = try await client.execute(uri: "/api/v1/events/\(byHand.id)", method: .get, headers: headers) { ByteBuffer(buffer: $0.body) }
            try await client.execute(uri: "/api/v1/events/\(byHand.id)", method: .patch, headers: headers, body: echoed) { response in
                #expect(response.status == .ok, "\(String(buffer: response.body))")
            }
        }
    }

    @Test func theCLIListsNextFiresAndLatestRuns() async throws {
        try await CLITests.withLiveServer { url, token in
            _ = try await CLITests.cli(
                ["event", "create", "--name", "nightly", "--type", "bash", "--script", "true", "--cron", "30 2 * * *", "--tz", "Europe/Berlin"],
                url: url,
                token: token
            )
            _ = try await CLITests.cli(["event", "create", "--name", "by hand", "--type", "bash", "--script", "exit 3"], url: url, token: token)
            _ = try await CLITests.cli(["event", "run", "2", "--wait"], url: url, token: token)
            let rows = try await CLITests.cli(["event", "list"], url: url, token: token).stdout.split(separator: "\n")
            #expect(rows.first?.contains("NEXT FIRE") == true && rows.first?.contains("LAST RUN") == true, "\(rows)")
            #expect(rows.count == 3 && rows[1].contains("T02:30:00+0") && rows[1].contains(" - "), "\(rows)")
            #expect(rows[2].contains("FAILURE #1"), "\(rows)")

            let next = try await CLITests.cli(["event", "next", "1", "-c", "2"], url: url, token: token)
            let times = next.stdout.split(separator: "\n")
            #expect(next.status == 0 && times.count == 2 && times.allSatisfy { $0.contains("T02:30:00+0") }, "\(next.stdout)")
            _ = try await CLITests.cli(["event", "pause", "1"], url: url, token: token)
            let paused = try await CLITests.cli(["event", "next", "1", "-c", "1"], url: url, token: token)
            #expect(paused.stdout == times[0] + "\n" && paused.stderr.contains("is PAUSED and does not fire now"), "\(paused)")
            let manual = try await CLITests.cli(["event", "next", "2"], url: url, token: token)
            #expect(manual.stdout.isEmpty && manual.stderr.contains("has no schedule"), "\(manual)")
            #expect(try await CLITests.cli(["event", "next", "1", "-c", "0"], url: url, token: token).status == 64)
            #expect(try await CLITests.cli(["event", "next", "9"], url: url, token: token).status == 3)
        }
    }
}

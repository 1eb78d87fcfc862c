import CroniumCore
import CroniumTesting
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Synchronization
import Testing

@testable import CroniumServer

/// Export and import: a document without ids that makes the same events again, matched by name,
/// all or nothing.
@Suite struct EventTransferTests {
    static let sample = #"""
        {"version": 1, "events": [
          {"name": "nightly", "type": "BASH", "content": "echo one\necho two\n", "status": "ACTIVE", "retries": 2,
           "schedule": {"kind": "cron", "cron": "0 3 * * *", "timeZone": "Europe/Berlin", "misfire": "all"},
           "environment": {"MODE": "full"}, "tags": ["ops"]},
          {"name": "ping", "type": "HTTP_REQUEST", "status": "PAUSED", "httpRequest": {"method": "GET", "url": "http://127.0.0.1:9/"}},
          {"name": "by hand", "type": "PYTHON", "content": "print(1)", "limits": {"memoryMB": 128}, "timeoutValue": 90, "timeoutUnit": "SECONDS"}
        ]}
        """#

    @Test func aDocumentMakesTheSameEventsAgainAndASecondImportChangesNothing() async throws {
        let exportedBox = Mutex(EventDocument(events: []))
        let first = try await ServerFixture()
        try await first.test { client in
            let headers = auth(first.adminToken)
            let report = try await client.execute(
                uri: "/api/v1/events/import",
                method: .post,
                headers: headers,
                body: ByteBuffer(string: Self.sample)
            ) { response in
                #expect(response.status == .ok, "\(String(buffer: response.body))")
                return try decode(ImportReport.self, response)
            }
            #expect(report.created.map(\.name) == ["nightly", "ping", "by hand"] && report.created.allSatisfy { $0.id != nil } && !report.dryRun)
            let exported = try await client.execute(uri: "/api/v1/events/export", method: .get, headers: headers) {
                try decode(EventDocument.self, $0)
            }
            exportedBox.withLock { $0 = exported }
            let nightly = try #require(exported.events.first)
            // Only what differs from a new event's defaults, and never an id or an owner.
            #expect(nightly.name == "nightly" && nightly.status == .active && nightly.retries == 2 && nightly.schedule?.misfire == .all)
            #expect(nightly.timeoutValue == nil && nightly.triggerType == nil && nightly.description == nil && nightly.shared == nil)
            let raw = try await client.execute(uri: "/api/v1/events/export", method: .get, headers: headers) { String(buffer: $0.body) }
            #expect(!raw.contains("\"id\"") && !raw.contains("ownerId") && !raw.contains("executionCount"), "\(raw)")
            let opsOnly = try await client.execute(uri: "/api/v1/events/export?tag=ops", method: .get, headers: headers) {
                try decode(EventDocument.self, $0)
            }
            #expect(opsOnly.events.map(\.name) == ["nightly"])

            // The same document again: nothing to do.
            let again = try await client.execute(uri: "/api/v1/events/import", method: .post, headers: headers, body: ByteBuffer(string: Self.sample))
            {
                try decode(ImportReport.self, $0)
            }
            #expect(again.created.isEmpty && again.updated.isEmpty && again.unchanged.map(\.name) == ["nightly", "ping", "by hand"])
            // What `GET /events` returns imports too: its ids and read-only fields are ignored.
            let listed = try await client.execute(uri: "/api/v1/events", method: .get, headers: headers) { ByteBuffer(buffer: $0.body) }
            let fromList = try await client.execute(uri: "/api/v1/events/import", method: .post, headers: headers, body: listed) { response in
                #expect(response.status == .ok, "\(String(buffer: response.body))")
                return try decode(ImportReport.self, response)
            }
            #expect(fromList.unchanged.count == 3 && fromList.created.isEmpty && fromList.updated.isEmpty)
        }
        // Another server: the export makes the same events, and exports alike.
        let document = exportedBox.withLock { $0 }
        let second = try await ServerFixture()
        try await second.test { client in
            let headers = auth(second.adminToken)
            let report = try await client.execute(uri: "/api/v1/events/import", method: .post, headers: headers, body: try json(document)) {
                try decode(ImportReport.self, $0)
            }
            #expect(report.created.count == 3)
            let again = try await client.execute(uri: "/api/v1/events/export", method: .get, headers: headers) { try decode(EventDocument.self, $0) }
            #expect(again == document)
        }
    }

    @Test func aBadDocumentChangesNothingAndNamesEachProblem() async throws {
        let fixture = try await ServerFixture()
        try await fixture.test { client in
            let headers = auth(fixture.adminToken)
            _ = try await client.execute(uri: "/api/v1/events/import", method: .post, headers: headers, body: ByteBuffer(string: Self.sample)) {
                $0.status
            }
            func problem(_ body: String, query: String = "") async throws -> (HTTPResponse.Status, ProblemBody) {
                try await client.execute(uri: "/api/v1/events/import\(query)", method: .post, headers: headers, body: ByteBuffer(string: body)) {
                    ($0.status, try decode(ProblemBody.self, $0))
                }
            }
            var (status, body) = try await problem(#"{"events": [{"name": "a", "type": "BASH", "content": "true", "scheduel": {}}]}"#)
            #expect(status == .badRequest && body.detail.contains("'events[0].scheduel'"), "\(body.detail)")
            (status, body) = try await problem(
                #"{"events": [{"name": "nightly", "type": "BASH", "retries": 5}, {"name": "new", "type": "BASH", "content": "true", "schedule": {"kind": "cron", "cron": "61 * * * *"}}, {"type": "BASH"}]}"#
            )
            #expect(status == .unprocessableContent)
            #expect(Set(body.errors?.map(\.field) ?? []) == ["events[1].schedule.cron", "events[2].name"], "\(body.errors ?? [])")
            (status, body) = try await problem(
                #"{"events": [{"name": "x", "type": "BASH", "content": "true"}, {"name": "x", "type": "BASH", "content": "true"}]}"#
            )
            #expect(status == .unprocessableContent && body.errors?.first?.field == "events[1].name")
            (status, body) = try await problem(#"{"version": 2, "events": []}"#)
            #expect(status == .badRequest && body.detail.contains("version 2"))
            (status, body) = try await problem(#"{"events": {"name": "x"}}"#)
            #expect(status == .badRequest && body.detail.contains("events"), "\(body.detail)")
            // Nothing of the refused documents was applied: the first event still has 2 retries, no 'new'.
            let events = try await client.execute(uri: "/api/v1/events", method: .get, headers: headers) { try decode([Event].self, $0) }
            #expect(events.count == 3 && events.first?.retries == 2)

            // A dry run reports and writes nothing; the real one then changes only what differs.
            let change = #"{"events": [{"name": "nightly", "type": "BASH", "retries": 5}, {"name": "fresh", "type": "BASH", "content": "true"}]}"#
            let dry = try await client.execute(
                uri: "/api/v1/events/import?dryRun=true",
                method: .post,
                headers: headers,
                body: ByteBuffer(string: change)
            ) {
                try decode(ImportReport.self, $0)
            }
            #expect(dry.dryRun && dry.updated.map(\.name) == ["nightly"] && dry.created == [.init(id: nil, name: "fresh")])
            #expect(try await client.execute(uri: "/api/v1/events", method: .get, headers: headers) { try decode([Event].self, $0) }.count == 3)
            let done = try await client.execute(uri: "/api/v1/events/import", method: .post, headers: headers, body: ByteBuffer(string: change)) {
                try decode(ImportReport.self, $0)
            }
            #expect(done.updated.map(\.name) == ["nightly"] && done.created.map(\.name) == ["fresh"])
            let nightly = try await client.execute(uri: "/api/v1/events/1", method: .get, headers: headers) { try decode(Event.self, $0) }
            #expect(nightly.retries == 5 && nightly.content == "echo one\necho two\n" && nightly.schedule?.misfire == .all)
        }
    }

    /// YAML out, YAML in: scripts as literal blocks, a misspelled key refused like in JSON.
    @Test func theCLIExportsYAMLAndImportsItBack() async throws {
        try await CLITests.withLiveServer { url, token in
            let directory = try TemporaryDirectory("transfer")
            defer { directory.remove() }
            let sample = directory.appending("sample.json")
            try Self.sample.write(toFile: sample, atomically: true, encoding: .utf8)
            let imported = try await CLITests.cli(["event", "import", sample], url: url, token: token)
            #expect(
                imported.status == 0 && imported.stdout == "created event 1 'nightly'\ncreated event 2 'ping'\ncreated event 3 'by hand'\n",
                "\(imported)"
            )

            let yaml = try await CLITests.cli(["event", "export"], url: url, token: token)
            #expect(yaml.status == 0 && yaml.stdout.hasPrefix("version: 1\nevents:\n- name: nightly\n"), "\(yaml.stdout)")
            #expect(yaml.stdout.contains("  content: |\n    echo one\n    echo two\n"), "\(yaml.stdout)")
            let file = directory.appending("events.yaml")
            try yaml.stdout.write(toFile: file, atomically: true, encoding: .utf8)
            let same = try await CLITests.cli(["event", "import", file], url: url, token: token)
            #expect(same.stdout == "unchanged event 1 'nightly'\nunchanged event 2 'ping'\nunchanged event 3 'by hand'\n", "\(same)")

            // Edited: a dry run says what would change; a misspelled key is refused with its path.
            try yaml.stdout.replacingOccurrences(of: "retries: 2", with: "retries: 4").write(toFile: file, atomically: true, encoding: .utf8)
            let dry = try await CLITests.cli(["event", "import", file, "--dry-run"], url: url, token: token)
            #expect(dry.stdout.hasPrefix("would update event 1 'nightly'\n") && dry.stderr.contains("dry run: nothing was changed"), "\(dry)")
            try yaml.stdout.replacingOccurrences(of: "  schedule:", with: "  scheduel:").write(toFile: file, atomically: true, encoding: .utf8)
            let misspelled = try await CLITests.cli(["event", "import", file], url: url, token: token)
            #expect(misspelled.status == 1 && misspelled.stderr.contains("unknown field 'events[0].scheduel'"), "\(misspelled.stderr)")
            try "events: [unclosed".write(toFile: file, atomically: true, encoding: .utf8)
            let broken = try await CLITests.cli(["event", "import", file], url: url, token: token)
            #expect(broken.status == 64 && broken.stderr.contains("is neither JSON nor YAML"), "\(broken.stderr)")
            #expect(try await CLITests.cli(["event", "import", directory.appending("none.yaml")], url: url, token: token).status == 64)

            // Deleted and imported again from the YAML: the same events, the same export.
            try yaml.stdout.write(toFile: file, atomically: true, encoding: .utf8)
            for id in ["1", "2", "3"] { _ = try await CLITests.cli(["event", "delete", id, "-y"], url: url, token: token) }
            let restored = try await CLITests.cli(["event", "import", file], url: url, token: token)
            #expect(restored.stdout.components(separatedBy: "created event").count == 4, "\(restored)")
            #expect(try await CLITests.cli(["event", "export"], url: url, token: token).stdout == yaml.stdout)
        }
    }
}

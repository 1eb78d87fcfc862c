import CroniumCore
import CroniumExecutors
import CroniumTesting
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

@testable import CroniumServer

/// `REMOTE` events run through `cronium-runner` on real sshd hosts (on loopback, and in network
/// namespaces of their own with `AllowTcpForwarding no`): the helpers over the session, fan-out
/// with its parts and PARTIAL, timeouts and lost connections leaving nothing running.
@Suite struct RemoteRunTests {
    /// Adds `host` as the admin's server `name`, pinned by its key's fingerprint.
    static func addServer(_ client: any TestClientProtocol, _ token: String, _ name: String, _ host: SSHHost, tags: [String] = []) async throws {
        let fields: [String: Any] = [
            "name": name, "host": host.host, "port": host.port, "username": SSHHost.user, "privateKey": host.clientKey, "tags": tags,
            "acceptHostKey": try #require(HostKeys.fingerprint(of: host.hostKey)),
        ]
        try await client.execute(
            uri: "/api/v1/servers",
            method: .post,
            headers: auth(token),
            body: ByteBuffer(string: RemoteServerTests.body(fields))
        ) { #expect($0.status == .created, "\(String(buffer: $0.body))") }
    }

    /// Run directories in the test account's cache. Other tests' runs come and go there too:
    /// a test waits (up to a minute) for none at all.
    static func leftRunDirectories() -> [String] {
        let home = String(cString: getpwnam(SSHHost.user).pointee.pw_dir)
        return (try? FileManager.default.contentsOfDirectory(atPath: "\(home)/.cache/cronium/runs")) ?? []
    }

    /// A live server whose admin has one sshd host on loopback as server `name`.
    static func withOneServer(_ name: String, _ body: @escaping @Sendable (any TestClientProtocol, RunsClient, SSHHost) async throws -> Void)
        async throws
    {
        let host = try await SSHHost.start()
        defer { host.stop() }
        let fixture = try await ServerFixture()
        try await fixture.test(.live) { client in
            try await addServer(client, fixture.adminToken, name, host)
            try await body(client, RunsClient(client: client, token: fixture.adminToken), host)
        }
    }

    @Test func aPythonScriptOnAServerUsesEveryHelperAndItsConditionFiresAnAction() async throws {
        // The script sends a message through a tool: the server sends it, the host never sees the URL.
        let (receiver, received) = try await LocalHTTPServer.recording { _ in .init(200, "ok") }
        defer { receiver.stop() }
        try await Self.withOneServer("web-1") { client, runs, host in
            let token = runs.token
            try await client.execute(
                uri: "/api/v1/variables/GREETING",
                method: .put,
                headers: auth(token),
                body: ByteBuffer(string: #"{"value": "hello"}"#)
            ) {
                #expect($0.status == .created)
            }
            try await client.execute(
                uri: "/api/v1/tools",
                method: .post,
                headers: auth(token),
                body: ByteBuffer(string: #"{"name": "hook", "type": "WEBHOOK", "url": "\#(receiver.url)/hook-secret"}"#)
            ) { #expect($0.status == .created) }
            let follower = try await runs.create("follower", .bash, #"echo "follower got $(cronium_input)""#)
            let remote = try await runs.create(
                "remote-python",
                .python,
                """
                import os, cronium
                given = cronium.input()
                print("input", given["n"], "on", os.environ["CRONIUM_SERVER_NAME"], "as", os.environ["USER"])
                print("variable", cronium.get_variable("GREETING"))
                cronium.set_variable("SEEN_ON", os.environ["CRONIUM_SERVER_NAME"])
                context = cronium.event()
                print("context", context["eventName"], context["executionId"] == int(os.environ["CRONIUM_EXECUTION_ID"]))
                print("tcp forwarding is off, the helpers still answer", file=__import__("sys").stderr)
                cronium.output({"doubled": given["n"] * 2})
                cronium.send_message("hook", "sent from " + os.environ["CRONIUM_SERVER_NAME"])
                cronium.set_condition(True)
                """
            ) {
                $0.runLocation = .remote
                $0.servers = ["web-1"]
                $0.actions = [EventAction(when: .onCondition, type: .runEvent, eventId: follower.id)]
            }
            let run = try await runs.run(remote, body: #"{"input": {"n": 21}}"#)
            #expect(run.status == .success && run.condition == true, "\(run)")
            let parts = try #require(run.parts)
            #expect(parts.count == 1 && parts[0].server == "web-1" && parts[0].status == .success && parts[0].partOf == run.id, "\(parts)")
            #expect(parts[0].outputValue == .object(["doubled": .integer(42)]) && parts[0].condition == true)
            #expect(
                run.outputValue
                    == .object([
                        "servers": .array([
                            .object([
                                "server": .string("web-1"), "executionId": .integer(parts[0].id.rawValue), "status": .string("SUCCESS"),
                                "exitCode": .integer(0),
                                "output": .object(["doubled": .integer(42)]), "condition": .bool(true),
                            ])
                        ])
                    ])
            )
            #expect(run.output == "web-1: SUCCESS")
            let partLog = try await runs.log(parts[0].id)
            // Its stdout in order; the stderr line may come before or after (two pipes).
            #expect(
                partLog.filter { $0 != "tcp forwarding is off, the helpers still answer" } == [
                    "input 21 on web-1 as \(SSHHost.user)", "variable hello", "context remote-python True",
                ] && partLog.count == 4,
                "\(partLog)"
            )
            let combined = try await runs.log(run.id)
            #expect(
                combined.first == "running on server: web-1" && combined.contains("[web-1] input 21 on web-1 as \(SSHHost.user)")
                    && combined.last == "[web-1] SUCCESS"
            )
            let seen = try await client.execute(uri: "/api/v1/variables/SEEN_ON", method: .get, headers: auth(token)) {
                try decode(Variable.self, $0)
            }
            #expect(seen.value == "web-1")
            #expect(received.all.map { "\($0.path) \($0.text)" } == [#"/hook-secret {"text":"sent from web-1"}"#])

            // Its condition fired the follower, which got the run's output as its input.
            let firings = try await runs.actions(run.id)
            #expect(firings.count == 1 && firings[0].when == .onCondition && firings[0].status == .fired)
            let followed = try await runs.ended(try #require(firings[0].executionId))
            #expect(followed.status == .success && followed.input == run.outputValue)

            // Parts are shown with their run, not among the runs.
            let listed = try await client.execute(uri: "/api/v1/executions?eventId=\(remote.id)", method: .get, headers: auth(token)) {
                try decode([Execution].self, $0)
            }
            #expect(listed.map(\.id) == [run.id])

            // A server an event names cannot go away or change its name under it.
            for (method, body) in [(HTTPRequest.Method.delete, nil), (.patch, #"{"name": "web-2"}"#)] {
                try await client.execute(
                    uri: "/api/v1/servers/web-1",
                    method: method,
                    headers: auth(token),
                    body: body.map { ByteBuffer(string: $0) }
                ) {
                    #expect(
                        $0.status == .conflict && String(buffer: $0.body).contains("event \(remote.id) 'remote-python' run on it"),
                        "\(String(buffer: $0.body))"
                    )
                }
            }
            #expect(try await eventually(timeout: .seconds(60)) { Self.leftRunDirectories().isEmpty })
        }
    }

    @Test func aRunOnThreeServersWithOneDownIsPartial() async throws {
        var hosts: [SSHHost] = []
        defer { for host in hosts { host.stop() } }
        for _ in 0..<3 { hosts.append(try await SSHHost.start(ownNetwork: true)) }
        let fixture = try await ServerFixture()
        try await fixture.test(.live) { [hosts] client in
            let token = fixture.adminToken
            let runs = RunsClient(client: client, token: token)
            for (index, host) in hosts.enumerated() { try await Self.addServer(client, token, "node-\(index + 1)", host, tags: ["fleet"]) }
            try await Self.addServer(client, token, "elsewhere", hosts[0], tags: ["other"])
            // The script prints the address it sees: each part ran in its host's own network.
            let event = try await runs.create(
                "fleet",
                .bash,
                #"echo "$CRONIUM_SERVER_NAME at $(/usr/sbin/ip -o -4 addr show dev eth0 | awk '{print $4}')""#
            ) {
                $0.runLocation = .remote
                $0.serverTag = "fleet"
            }
            let first = try await runs.run(event)
            #expect(first.status == .success && first.parts?.map(\.server) == ["node-1", "node-2", "node-3"], "\(first)")
            for (index, part) in (first.parts ?? []).enumerated() {
                #expect(try await runs.log(part.id) == ["node-\(index + 1) at \(hosts[index].host)/30"])
            }

            hosts[1].pause()
            let second = try await runs.run(event)
            // Refused at connect, or (a pooled connection that had not noticed yet) when the run's session opened.
            #expect(second.status == .partial && [.startFailed, .connectionLost].contains(second.errorCode), "\(second)")
            let parts = try #require(second.parts)
            #expect(parts.map(\.status) == [.success, .failure, .success] && parts.map(\.server) == ["node-1", "node-2", "node-3"])
            #expect(parts[1].error?.contains("server node-2: cannot connect to \(hosts[1].host):22") == true, "\(parts[1])")
            #expect(
                second.error?.hasPrefix("failed on 1 of 3 servers: node-2 FAILURE: ") == true && second.error?.contains("cannot connect to") == true,
                "\(second.error ?? "")"
            )
            let output = (second.output ?? "").split(separator: "\n").map(String.init)
            #expect(output.count == 3 && output[0] == "node-1: SUCCESS" && output[1].hasPrefix("node-2: FAILURE: ") && output[2] == "node-3: SUCCESS")
            guard case .object(let value) = second.outputValue, case .array(let servers) = value["servers"] else {
                Issue.record("no per-server output: \(String(describing: second.outputValue))")
                return
            }
            let statuses = servers.map { server -> JSONValue? in
                guard case .object(let fields) = server else { return nil }
                return fields["status"]
            }
            #expect(statuses == [.string("SUCCESS"), .string("FAILURE"), .string("SUCCESS")])
            let combined = try await runs.log(second.id)
            #expect(
                combined.contains("[node-1] node-1 at \(hosts[0].host)/30") && combined.contains("[node-3] node-3 at \(hosts[2].host)/30"),
                "\(combined)"
            )

            // None reachable: FAILURE, naming each.
            hosts[0].pause()
            hosts[2].pause()
            let third = try await runs.run(event)
            #expect(third.status == .failure && third.error?.hasPrefix("failed on every server: node-1 FAILURE") == true, "\(third)")
        }
    }

    @Test func aTimeoutAndACutConnectionLeaveNothingRunningOnTheServer() async throws {
        try await Self.withOneServer("box") { client, runs, host in
            let token = runs.token
            let marker = "cronium-remote-\(UInt32.random(in: 0...UInt32.max))"
            // A script that ignores TERM and leaves a child behind: the group is KILLed after the grace period.
            let stubborn = try await runs.create(
                "stubborn",
                .bash,
                "trap '' TERM; (exec -a \(marker) sleep 300) & echo started; exec -a \(marker) sleep 300"
            ) {
                $0.runLocation = .remote
                $0.servers = ["box"]
                $0.timeoutValue = 3
                $0.timeoutUnit = .seconds
            }
            let timedOut = try await runs.run(stubborn)
            #expect(timedOut.status == .timeout && timedOut.parts?.first?.status == .timeout, "\(timedOut)")
            #expect(try await eventually(timeout: .seconds(30)) { livePIDs(withMarker: marker).isEmpty })

            // The connection breaks mid-run: the run fails at once, the runner stops its script.
            let cut = try await runs.create("cut", .bash, "(exec -a \(marker) sleep 300) & echo started; exec -a \(marker) sleep 300") {
                $0.runLocation = .remote
                $0.servers = ["box"]
            }
            let id = try await runs.start(cut)
            _ = try await runs.line(id, startingWith: "[box] started")
            #expect(livePIDs(withMarker: marker).count == 2)
            host.dropConnections()
            let lost = try await runs.ended(id)
            #expect(lost.status == .failure && lost.errorCode == .connectionLost, "\(lost)")
            #expect(lost.parts?.first?.error?.contains("server box: lost the run") == true, "\(String(describing: lost.parts))")
            #expect(try await eventually(timeout: .seconds(30)) { livePIDs(withMarker: marker).isEmpty })

            // A cancel stops the script too; the next run connects again.
            let cancelled = try await runs.start(cut)
            _ = try await runs.line(cancelled, startingWith: "[box] started")
            try await client.execute(uri: "/api/v1/executions/\(cancelled)/cancel", method: .post, headers: auth(token)) { #expect($0.status == .ok) }
            #expect(try await runs.ended(cancelled).status == .cancelled)
            #expect(try await eventually(timeout: .seconds(30)) { livePIDs(withMarker: marker).isEmpty })

            // Many runs at once share the connection, each in a session of its own.
            let quick = try await runs.create("quick", .bash, #"echo "run $CRONIUM_EXECUTION_ID""#) {
                $0.runLocation = .remote
                $0.servers = ["box"]
            }
            var started: [ExecutionID] = []
            for _ in 0..<8 { started.append(try await runs.start(quick)) }
            for id in started {
                let run = try await runs.ended(id)
                let part = try #require(run.parts?.first)
                let log = try await runs.log(part.id)
                #expect(run.status == .success && log == ["run \(part.id)"], "\(run) \(log)")
            }
            #expect(try await eventually(timeout: .seconds(60)) { Self.leftRunDirectories().isEmpty })
        }
    }

    @Test func remoteEventsAreCheckedWhenSaved() async throws {
        let fixture = try await ServerFixture()
        try await fixture.test(.live) { client in
            let token = fixture.adminToken
            func create(_ fields: String) async throws -> (Int, String) {
                try await client.execute(uri: "/api/v1/events", method: .post, headers: auth(token), body: ByteBuffer(string: fields)) {
                    ($0.status.code, String(buffer: $0.body))
                }
            }
            let cases: [(String, String)] = [
                (#"{"name":"a","type":"BASH","content":"true","runLocation":"REMOTE"}"#, "servers: a REMOTE event needs the servers to run on"),
                (#"{"name":"a","type":"BASH","content":"true","servers":["x"]}"#, "servers: applies to REMOTE events only"),
                (#"{"name":"a","type":"BASH","content":"true","runLocation":"REMOTE","servers":["x","x"]}"#, "lists x more than once"),
                (#"{"name":"a","type":"BASH","content":"true","runLocation":"REMOTE","servers":["nowhere"]}"#, "there is no server nowhere"),
                (
                    #"{"name":"a","type":"BASH","content":"true","runLocation":"REMOTE","serverTag":"t","limits":{"memoryMB":64}}"#,
                    "limits: applies to LOCAL and CONTAINER runs"
                ),
                (#"{"name":"a","type":"BASH","content":"true","runLocation":"REMOTE","serverTags":"t"}"#, "unknown field 'serverTags'"),
            ]
            for (body, words) in cases {
                let (status, answer) = try await create(body)
                #expect([400, 422].contains(status) && answer.contains(words), "\(body): \(answer)")
            }
            // A tag no server has yet is fine at save time; the run says what is missing.
            let (status, answer) = try await create(#"{"name":"tagged","type":"BASH","content":"true","runLocation":"REMOTE","serverTag":"later"}"#)
            #expect(status == 201, "\(answer)")
            let event = try JSONDecoder.cronium.decode(Event.self, from: Data(answer.utf8))
            let run = try await RunsClient(client: client, token: token).run(event)
            #expect(run.status == .failure && run.error?.contains("no server has the tag later") == true, "\(run)")
        }
    }
}

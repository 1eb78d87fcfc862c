import CroniumCore
import CroniumEngine
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

@testable import CroniumServer

/// Real Python, Node.js and Bash scripts calling back through their helper libraries, in the
/// sandbox with its network switched off, through a real server.
@Suite struct RuntimeHelperTests {
    @Test func everyLanguageReadsItsInputAndSetsItsOutputAndCondition() async throws {
        let fixture = try await ServerFixture()
        try await fixture.test(.live) { client in
            let runs = RunsClient(client: client, token: fixture.adminToken)
            let python = try await runs.create(
                "py",
                .python,
                """
                import cronium
                given = cronium.input()
                context = cronium.event()
                print("input", given["who"], "event", context["eventName"], context["executionId"], context["attempt"], context["trigger"])
                cronium.output({"greeting": "hello " + given["who"], "n": 42})
                cronium.setCondition(True)
                try:
                    cronium.set_condition("yes")
                except cronium.CroniumError as error:
                    print("refused:", error)
                try:
                    cronium.output({"big": "x" * 300000})
                except cronium.CroniumError as error:
                    print("too big:", error.status, error)
                """
            )
            let ran = try await runs.run(python, body: #"{"input": {"who": "ana"}}"#)
            #expect(ran.status == .success)
            #expect(ran.input == .object(["who": .string("ana")]))
            #expect(ran.outputValue == .object(["greeting": .string("hello ana"), "n": .integer(42)]))
            #expect(ran.condition == true)
            let log = try await runs.log(ran.id)
            #expect(log.first == "input ana event py \(ran.id) 1 MANUAL")
            #expect(log.contains("refused: set_condition takes True or False, not 'yes'"))
            #expect(log.contains { $0.hasPrefix("too big: 413 an output may be at most 256 KiB") })

            let node = try await runs.create(
                "node",
                .nodejs,
                """
                const cronium = require('cronium');
                (async () => {
                  const given = await cronium.input();
                  const context = await cronium.event();
                  console.log('input', JSON.stringify(given), 'event', context.eventName, context.eventType);
                  await cronium.output([1, 'two', null]);
                  await cronium.setCondition(false);
                })().catch((error) => { console.error(error); process.exit(1); });
                """
            )
            let nodeRun = try await runs.run(node)
            #expect(nodeRun.status == .success)
            #expect(try await runs.log(nodeRun.id) == ["input null event node NODEJS"])
            #expect(nodeRun.outputValue == .array([.integer(1), .string("two"), .null]) && nodeRun.condition == false)

            let bash = try await runs.create(
                "bash",
                .bash,
                """
                echo "input $(cronium_input)"
                cronium_event | grep -o '"eventName":"bash"'
                cronium_output '{"from": "bash"}'
                cronium_setCondition true
                cronium_output 'not json' || echo "refused with $?"
                cronium_set_condition maybe || echo "usage with $?"
                """
            )
            let bashRun = try await runs.run(bash, body: #"{"input": "plain text"}"#)
            #expect(bashRun.status == .success)
            // stdout and stderr are two pipes: their lines are compared apart.
            let bashLog = try await runs.log(bashRun.id)
            #expect(
                bashLog.filter { !$0.hasPrefix("cronium: ") } == [#"input "plain text""#, #""eventName":"bash""#, "refused with 1", "usage with 1"]
            )
            #expect(
                bashLog.filter { $0.hasPrefix("cronium: ") } == [
                    "cronium: the output must be a JSON value (an object, array, string, number, true, false or null)",
                    "cronium: usage: cronium_set_condition true|false",
                ]
            )
            #expect(bashRun.outputValue == .object(["from": .string("bash")]) && bashRun.condition == true)
            // Nothing of the run's listener is left.
            #expect(try FileManager.default.contentsOfDirectory(atPath: fixture.server.runtime.directory).isEmpty)
        }
    }

    /// Without the sandbox the helpers come from a directory of the server's and the script
    /// reaches its socket on the host.
    @Test func helpersWorkWithoutTheSandboxToo() async throws {
        let fixture = try await ServerFixture { $0.engine.sandbox = .off }
        try await fixture.test(.live) { client in
            let runs = RunsClient(client: client, token: fixture.adminToken)
            let event = try await runs.create(
                "plain",
                .python,
                "import cronium, os\nprint(os.environ['CRONIUM_RUNTIME_URL'].startswith('unix:/'))\ncronium.output(cronium.input())"
            )
            let ran = try await runs.run(event, body: #"{"input": [true]}"#)
            #expect(ran.status == .success && ran.outputValue == .array([.bool(true)]))
            #expect(try await runs.log(ran.id) == ["True"])
        }
    }

    /// A run's token works for that run alone, only while it runs, only on `/runtime/v1`; an
    /// API token does not work there.
    @Test func aTokenServesItsOwnRunOnly() async throws {
        let fixture = try await ServerFixture()
        try await fixture.test(.live) { client in
            let runs = RunsClient(client: client, token: fixture.adminToken)
            let waiting = try await runs.create("waits", .bash, "echo \"token $CRONIUM_RUNTIME_TOKEN\"\nsleep 30")
            let first = try await runs.start(waiting)
            let second = try await runs.start(waiting)
            let token = try await runs.line(first, startingWith: "token ")
            let otherToken = try await runs.line(second, startingWith: "token ")
            #expect(token != otherToken)
            let sockets = try FileManager.default.contentsOfDirectory(atPath: fixture.server.runtime.directory)
            let firstSocket = "\(fixture.server.runtime.directory)/\(try #require(sockets.first { $0.hasPrefix("\(first)-") }))"
            let secondSocket = "\(fixture.server.runtime.directory)/\(try #require(sockets.first { $0.hasPrefix("\(second)-") }))"

            let onOwn = try await curl(["--unix-socket", firstSocket, "-H", "Authorization: Bearer \(token)", "http://run/runtime/v1/context"])
            #expect(onOwn.status == 200 && onOwn.body.contains("\"executionId\":\(first)"))
            let onOther = try await curl(["--unix-socket", secondSocket, "-H", "Authorization: Bearer \(token)", "http://run/runtime/v1/context"])
            #expect(onOther.status == 403 && onOther.body.contains("belongs to another run"))
            let noToken = try await curl(["--unix-socket", firstSocket, "http://run/runtime/v1/input"])
            #expect(noToken.status == 401)
            // The run's listener serves the runtime API and nothing else.
            let api = try await curl(["--unix-socket", firstSocket, "-H", "Authorization: Bearer \(fixture.adminToken)", "http://run/api/v1/events"])
            #expect(api.status == 404)

            // Through the server's own port: the runtime token works on /runtime/v1 only.
            try await client.execute(uri: "/runtime/v1/context", method: .get, headers: auth(token)) { response in
                #expect(response.status == .ok)
            }
            try await client.execute(uri: "/api/v1/events", method: .get, headers: auth(token)) { response in
                #expect(response.status == .unauthorized)
                let problem = try decode(ProblemBody.self, response)
                #expect(problem.detail.contains("runtime token works on /runtime/v1 only"))
            }
            try await client.execute(uri: "/runtime/v1/input", method: .get, headers: auth(fixture.adminToken)) { response in
                #expect(response.status == .unauthorized)
                let problem = try decode(ProblemBody.self, response)
                #expect(problem.detail.contains("an API token does not work on /runtime/v1"))
            }
            try await client.execute(uri: "/runtime/v1/input", method: .get, headers: auth(token + "x")) { response in
                #expect(response.status == .unauthorized)
            }

            // Once the run has ended, its token is refused everywhere.
            _ = try await client.execute(uri: "/api/v1/executions/\(first)/cancel", method: .post, headers: auth(fixture.adminToken)) { _ in }
            _ = try await client.execute(uri: "/api/v1/executions/\(second)/cancel", method: .post, headers: auth(fixture.adminToken)) { _ in }
            #expect(try await runs.ended(first).status == .cancelled)
            try await client.execute(uri: "/runtime/v1/context", method: .get, headers: auth(token)) { response in
                #expect(response.status == .unauthorized)
                let problem = try decode(ProblemBody.self, response)
                #expect(problem.code == "UNAUTHORIZED" && problem.detail == "run \(first) has ended: its runtime token no longer works")
            }
            #expect(!FileManager.default.fileExists(atPath: firstSocket))
        }
    }

    /// A script that floods the API gets 429s with a Retry-After, and the server keeps answering.
    @Test func aFloodIsSlowedDownAndTheServerStaysResponsive() async throws {
        // A low limit, so that the flood exceeds it however slow a loaded machine makes it.
        let fixture = try await ServerFixture { $0.engine.runtimeCallsPerSecond = 5 }
        try await fixture.test(.live) { client in
            let runs = RunsClient(client: client, token: fixture.adminToken)
            let flood = try await runs.create(
                "flood",
                .python,
                """
                \(RunsClient.pythonRuntimeConnection)
                import collections
                connection = Unix("run")
                statuses = collections.Counter()
                retry_after = None
                for _ in range(400):
                    connection.request("GET", "/runtime/v1/context", headers={"Authorization": "Bearer " + os.environ["CRONIUM_RUNTIME_TOKEN"]})
                    response = connection.getresponse()
                    body = response.read()
                    statuses[response.status] += 1
                    if response.status == 429 and retry_after is None:
                        retry_after = response.getheader("Retry-After")
                        print("message", body.decode())
                print("ok", statuses[200], "limited", statuses[429], "retry-after", retry_after)
                """
            )
            let id = try await runs.start(flood)
            // The server answers others while the flood goes on.
            try await client.execute(uri: "/ready", method: .get) { #expect($0.status == .ok) }
            let ended = try await runs.ended(id)
            #expect(ended.status == .success)
            let summary = try await runs.line(id, startingWith: "ok ").split(separator: " ")
            #expect(summary.count == 5)
            let (ok, limited) = (Int(summary[0]) ?? 0, Int(summary[2]) ?? 0)
            #expect(ok >= 10 && ok + limited == 400 && limited > 0, "\(summary)")
            #expect(summary[4] == "1")
            #expect(try await runs.line(id, startingWith: "message ").contains("TOO_MANY_REQUESTS"))
        }
    }

    /// A script that opens connection after connection (here without the sandbox, as a server
    /// run as root would run it) holds at most its share of the server's descriptors; the rest
    /// are closed at once, and its helpers work again when it lets go.
    @Test func aRunHoldsAtMostItsShareOfConnections() async throws {
        let fixture = try await ServerFixture { $0.engine.sandbox = .off }
        try await fixture.test(.live) { client in
            let runs = RunsClient(client: client, token: fixture.adminToken)
            let hoarder = try await runs.create(
                "hoarder",
                .python,
                """
                import cronium, os, socket, time
                path = os.environ["CRONIUM_RUNTIME_URL"][5:]
                held = []
                for _ in range(64):
                    held.append(socket.socket(socket.AF_UNIX))
                    held[-1].connect(path)
                    held[-1].setblocking(False)
                def still_open(connection):
                    try:
                        return connection.recv(1) != b""
                    except BlockingIOError:
                        return True
                    except OSError:
                        return False
                for _ in range(40):
                    held = [connection for connection in held if still_open(connection)]
                    if len(held) <= \(RuntimeListeners.connectionsPerRun):
                        break
                    time.sleep(0.25)
                print("held", len(held))
                for connection in held:
                    connection.close()
                cronium.output("let go")
                """
            )
            let ran = try await runs.run(hoarder)
            #expect(ran.status == .success && ran.outputValue == .string("let go"), "\(ran)")
            #expect(try await runs.line(ran.id, startingWith: "held ") == "\(RuntimeListeners.connectionsPerRun)")
        }
    }

    /// Without the sandbox, runs of a root server must not reach each other: each has a uid of its
    /// own, so one cannot read another's environment (its runtime token) through /proc, nor
    /// signal its processes.
    @Test(.enabled(if: getuid() == 0, "runs switch users only under a root server"))
    func unsandboxedRunsCannotReadEachOthersTokens() async throws {
        let fixture = try await ServerFixture { $0.engine.sandbox = .off }
        try await fixture.test(.live) { client in
            let runs = RunsClient(client: client, token: fixture.adminToken)
            let victim = try await runs.create("victim", .bash, "echo \"uid $(id -u)\"\nsleep 600")
            let spy = try await runs.create(
                "spy",
                .bash,
                """
                others=$(for p in /proc/[0-9]*; do tr '\\0' '\\n' < $p/environ 2>/dev/null | grep '^CRONIUM_RUNTIME_TOKEN='; done \\
                  | grep -v -x -F "CRONIUM_RUNTIME_TOKEN=$CRONIUM_RUNTIME_TOKEN" | wc -l)
                echo "others $others"
                echo "uid $(id -u)"
                kill -9 -1 2>/dev/null
                echo "still here"
                """
            )
            let running = try await runs.start(victim)
            let victimUID = try await runs.line(running, startingWith: "uid ")
            let spied = try await runs.run(spy)
            #expect(spied.status == .success)
            #expect(try await runs.line(spied.id, startingWith: "others ") == "0")
            let spyUID = try await runs.line(spied.id, startingWith: "uid ")
            #expect(spyUID != victimUID && [spyUID, victimUID].allSatisfy { (UInt32($0) ?? 0) >= 2_100_000_000 }, "\(spyUID) \(victimUID)")
            // The victim outlived the spy's `kill -9 -1`: it is still running, and ends when cancelled.
            _ = try await client.execute(uri: "/api/v1/executions/\(running)/cancel", method: .post, headers: auth(fixture.adminToken)) { _ in }
            #expect(try await runs.ended(running).status == .cancelled)
        }
    }

    /// The input is checked when the run is asked for, and a bad one changes nothing.
    @Test func aRunsInputIsChecked() async throws {
        let fixture = try await ServerFixture()
        try await fixture.test(.live) { client in
            let runs = RunsClient(client: client, token: fixture.adminToken)
            let event = try await runs.create("echo", .bash, "cronium_input")
            for (body, status, detail) in [
                ("{not json", 400, "not valid JSON"), (#"{"inptu": 1}"#, 400, "unknown field 'inptu'"), ("[1]", 400, "expected an object"),
                (#"{"input": "\#(String(repeating: "x", count: 300_000))"}"#, 413, "at most 256 KiB"),
            ] {
                try await client.execute(
                    uri: "/api/v1/events/\(event.id)/run",
                    method: .post,
                    headers: auth(fixture.adminToken),
                    body: ByteBuffer(string: body)
                ) {
                    let problem = try decode(ProblemBody.self, $0)
                    #expect($0.status.code == status && problem.detail.contains(detail), "\(problem.detail)")
                }
            }
            let none = try await client.execute(uri: "/api/v1/executions", method: .get, headers: auth(fixture.adminToken)) {
                try decode([Execution].self, $0)
            }
            #expect(none.isEmpty)
            let ran = try await runs.run(event, body: #"{"input": {"list": [1, 2.5, true]}}"#)
            #expect(try await runs.log(ran.id) == [#"{"list":[1,2.5,true]}"#])
            let empty = try await runs.run(event, body: "{}")
            let emptyLog = try await runs.log(empty.id)
            #expect(empty.input == nil && emptyLog == ["null"])
        }
    }
}

import CroniumCore
import CroniumEngine
import CroniumExecutors
import CroniumTesting
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

@testable import CroniumServer

/// Real containers through podman's Docker-compatible API: `scripts/test.sh` starts the service,
/// builds the runner images and names the socket in `CRONIUM_TEST_CONTAINER_SOCKET`.
@Suite(.enabled(if: ServerFixture.containerSocket != nil, "needs a container engine: run scripts/test.sh"))
struct ContainerTests {
    static let socket = ServerFixture.containerSocket

    static func fixture(_ configure: @escaping (inout ServerConfiguration) -> Void = { _ in }) async throws -> ServerFixture {
        try await ServerFixture {
            $0.engine.containerSocket = socket
            configure(&$0)
        }
    }

    static func inContainer(_ input: inout EventInput) { input.runLocation = .container }

    /// The web UI's images page: the engine found, and every runner image (built by
    /// scripts/test.sh) up to date; a server without an engine says why.
    @Test func theImagesRouteShowsTheEngineAndEachRunnerImage() async throws {
        struct Status: Decodable {
            struct Engine: Decodable { let available: Bool }
            struct Image: Decodable {
                let name: String
                let state: String
                let id: String?
            }
            let engine: Engine
            let images: [Image]
        }
        let fixture = try await Self.fixture()
        try await fixture.test { client in
            let status = try await client.execute(uri: "/api/v1/images", method: .get, headers: auth(fixture.adminToken)) {
                try decode(Status.self, $0)
            }
            #expect(status.engine.available)
            #expect(status.images.map(\.name) == ["cronium/runner:bash", "cronium/runner:python", "cronium/runner:node"])
            #expect(status.images.allSatisfy { $0.state == "UP_TO_DATE" && $0.id != nil }, "\(status.images)")
        }
        let none = try await ServerFixture()
        try await none.test { client in
            let status = try await client.execute(uri: "/api/v1/images", method: .get, headers: auth(none.adminToken)) { try decode(Status.self, $0) }
            #expect(!status.engine.available && status.images.isEmpty)
        }
    }

    /// Scripts of every language run in their images, as uid 1000 with no capabilities, on a
    /// read-only root with no network; the Python → Node.js helper chain works inside.
    @Test func scriptsRunConfinedAndTheHelpersWorkInside() async throws {
        let (receiver, received) = try await LocalHTTPServer.recording { _ in .init(200, "ok") }
        defer { receiver.stop() }
        let fixture = try await Self.fixture()
        try await fixture.test(.live) { client in
            let runs = RunsClient(client: client, token: fixture.adminToken)
            // Without a network, the container still sends a message: the server sends it for it.
            let tool = try await send(
                client,
                fixture.adminToken,
                .post,
                "/api/v1/tools",
                #"{"name": "hook", "type": "WEBHOOK", "url": "\#(receiver.url)/hook"}"#
            )
            #expect(tool.status == 201)
            let reader = try await runs.create(
                "reader",
                .bash,
                #"echo "bash $(id -u):$(id -g) got $(cronium_input)"; cronium_send_message hook "from a container" >/dev/null"#,
                configure: Self.inContainer
            )
            let node = try await runs.create(
                "node",
                .nodejs,
                """
                const cronium = require('cronium');
                (async () => {
                  const given = await cronium.input();
                  console.log('node got', JSON.stringify(given), 'network', require('os').networkInterfaces().lo ? 'lo' : 'none', Object.keys(require('os').networkInterfaces()).length);
                  await cronium.output({ doubled: given.n * 2 });
                })();
                """
            ) {
                Self.inContainer(&$0)
                $0.actions = [EventAction(when: .onSuccess, type: .runEvent, eventId: reader.id)]
            }
            let python = try await runs.create(
                "python",
                .python,
                """
                import cronium, os
                status = open("/proc/self/status").read()
                print("uid", os.getuid(), "caps", status.split("CapEff:")[1].split()[0], "nnp", status.split("NoNewPrivs:")[1].split()[0])
                for path in ["/work/a", "/tmp/b", "/etc/c", "/run/cronium/d"]:
                    try:
                        open(path, "w").write("x")
                        print("wrote", path)
                    except OSError as error:
                        print("refused", path, error.strerror)
                cronium.output({"n": 21})
                """
            ) {
                Self.inContainer(&$0)
                $0.actions = [EventAction(when: .onSuccess, type: .runEvent, eventId: node.id)]
            }
            #expect(python.networkAccess == false, "a container event gets no network unless it asks")
            let first = try await runs.run(python)
            #expect(first.status == .success, "\(first.error ?? "")")
            #expect(
                try await runs.log(first.id) == [
                    "uid 1000 caps 0000000000000000 nnp 1", "wrote /work/a", "wrote /tmp/b",
                    "refused /etc/c Read-only file system", "refused /run/cronium/d Read-only file system",
                ]
            )
            let second = try await runs.ended(try #require(try await runs.actions(first.id).first?.executionId))
            #expect(second.status == .success && second.outputValue == .object(["doubled": .integer(42)]), "\(second.error ?? "")")
            #expect(try await runs.log(second.id) == [#"node got {"n":21} network lo 1"#])
            let third = try await runs.ended(try #require(try await runs.actions(second.id).first?.executionId))
            #expect(try await runs.log(third.id) == [#"bash 1000:1000 got {"doubled":42}"#])
            #expect(third.status == .success && received.all.map(\.text) == [#"{"text":"from a container"}"#])
            // Nothing of the three runs is left on the engine.
            let engine = try await DockerClient.connect(socketPath: try #require(Self.socket))
            #expect(try await engine.containers(label: "\(ContainerExecutor.instanceLabel)=\(fixture.server.node.instance)").isEmpty)
        }
    }

    /// Past its memory limit a run ends as OUT_OF_MEMORY; a fork bomb meets the PID limit while the
    /// server answers; a timed-out container is stopped and removed.
    @Test func limitsHoldAndStoppedContainersGo() async throws {
        let fixture = try await Self.fixture()
        try await fixture.test(.live) { client in
            let runs = RunsClient(client: client, token: fixture.adminToken)
            let hog = try await runs.create("hog", .python, "blocks = []\nwhile True:\n    blocks.append(bytearray(16 << 20))") {
                Self.inContainer(&$0)
                $0.limits = RunLimits(memoryMB: 64)
            }
            let bomb = try await runs.create("bomb", .bash, "for i in $(seq 1 200); do sleep 20 & done; wait") {
                Self.inContainer(&$0)
                $0.limits = RunLimits(processes: 32)
                $0.timeoutValue = 5
                $0.timeoutUnit = .seconds
            }
            let sleeper = try await runs.create("sleeper", .bash, "trap 'echo stopping; exit 3' TERM\necho started\nsleep 60 & wait") {
                Self.inContainer(&$0)
                $0.timeoutValue = 2
                $0.timeoutUnit = .seconds
            }
            let hogged = try await runs.run(hog)
            #expect(hogged.status == .failure && hogged.errorCode == .outOfMemory, "\(hogged)")
            let bombing = try await runs.start(bomb)
            try await client.execute(uri: "/ready", method: .get) { #expect($0.status == .ok) }
            let bombed = try await runs.ended(bombing)
            let bombLog = try await runs.log(bombed.id).joined(separator: "\n")
            #expect(bombLog.contains("fork: retry") || bombLog.contains("Resource temporarily unavailable"), "\(bombLog)")
            let slept = try await runs.run(sleeper)
            #expect(slept.status == .timeout, "\(slept)")
            let sleptLog = try await runs.log(slept.id)
            #expect(sleptLog.contains("started") && sleptLog.contains("stopping"), "\(sleptLog)")
            let engine = try await DockerClient.connect(socketPath: try #require(Self.socket))
            #expect(try await engine.containers(label: "\(ContainerExecutor.instanceLabel)=\(fixture.server.node.instance)").isEmpty)
        }
    }

    /// A cancelled container gets SIGTERM and its handler's output is kept; a chatty one's log is
    /// capped like a local run's; two at once do not meet.
    @Test func cancelledAndChattyContainers() async throws {
        let fixture = try await Self.fixture()
        try await fixture.test(.live) { client in
            let runs = RunsClient(client: client, token: fixture.adminToken)
            let waiter = try await runs.create(
                "waiter",
                .bash,
                "trap 'echo cleaning up; exit 5' TERM\necho started\nsleep 60 & wait",
                configure: Self.inContainer
            )
            let chatty = try await runs.create("chatty", .bash, "seq 1 200000", configure: Self.inContainer)
            let waiting = try await runs.start(waiter)
            let chattering = try await runs.start(chatty)
            _ = try await runs.line(waiting, startingWith: "started")
            _ = try await client.execute(uri: "/api/v1/executions/\(waiting)/cancel", method: .post, headers: auth(fixture.adminToken)) { _ in }
            let cancelled = try await runs.ended(waiting)
            #expect(cancelled.status == .cancelled, "\(cancelled)")
            #expect(try await runs.log(waiting).contains("cleaning up"))
            let chattered = try await runs.ended(chattering)
            #expect(chattered.status == .success && chattered.logDroppedBytes > 0, "\(chattered)")
            let log = try await runs.log(chattering)
            #expect(log.first == "1" && log.last == "200000", "the head and the tail are kept: \(log.count) lines, ending \(log.suffix(3))")
            let engine = try await DockerClient.connect(socketPath: try #require(Self.socket))
            #expect(try await engine.containers(label: "\(ContainerExecutor.instanceLabel)=\(fixture.server.node.instance)").isEmpty)
        }
    }

    /// A missing image and a missing engine fail at once, saying what to do.
    @Test func aMissingImageOrEngineFailsAtOnceWithItsReason() async throws {
        let fixture = try await Self.fixture()
        try await fixture.test(.live) { client in
            let runs = RunsClient(client: client, token: fixture.adminToken)
            let custom = try await runs.create("custom", .bash, "true") {
                Self.inContainer(&$0)
                $0.image = "cronium/no-such-image:1"
            }
            let ran = try await runs.run(custom)
            #expect(ran.status == .failure && ran.errorCode == .startFailed)
            #expect(
                ran.error
                    == "image cronium/no-such-image:1 not found — pull or build it on the engine (`docker pull cronium/no-such-image:1` or `podman pull cronium/no-such-image:1`)"
            )
        }
        let noEngine = try await ServerFixture {
            $0.engine.containerSocket = "/nonexistent/podman.sock"
            $0.engine.defaultRunLocation = .container
        }
        try await noEngine.test(.live) { client in
            let runs = RunsClient(client: client, token: noEngine.adminToken)
            // The server's default placement: an event that names none runs in a container.
            let event = try await runs.create("plain", .bash, "true")
            #expect(event.runLocation == .container)
            let started = ContinuousClock.now
            let ran = try await runs.run(event)
            #expect(ContinuousClock.now - started < .seconds(10))
            #expect(ran.status == .failure && ran.errorCode == .startFailed)
            #expect(
                ran.error?.hasPrefix("container engine unavailable: cannot reach the container engine at /nonexistent/podman.sock") == true,
                "\(ran)"
            )
            try await client.execute(uri: "/ready", method: .get) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body).contains(#""containerEngine":{"available":false,"detail":"cannot reach the container engine"#))
            }
        }
    }

    /// A container left by a server that died is removed when a server of the same data
    /// directory starts.
    @Test func orphansOfACrashedServerAreRemovedAtStart() async throws {
        let directory = try TemporaryDirectory("orphans")
        defer { directory.remove() }
        let data = directory.appending("data")
        let instance = EngineNode.instanceName(dataDirectory: data)
        let engine = try await DockerClient.connect(socketPath: try #require(Self.socket))
        let spec = ContainerSpec(
            image: "cronium/runner:bash",
            command: ["sleep", "600"],
            user: ContainerExecutor.user,
            workingDirectory: "/",
            environment: [:],
            labels: [ContainerExecutor.instanceLabel: instance, ContainerExecutor.executionLabel: "1"],
            host: .init(binds: [], tmpfs: [:], network: "none", memoryBytes: 64 << 20, nanoCPUs: 100_000_000, pidsLimit: 16, openFiles: 64)
        )
        let orphan = try await engine.createContainer(spec, name: "cronium-orphan-\(UInt32.random(in: 0...UInt32.max))")
        try await engine.startContainer(orphan)
        #expect(try await engine.containers(label: "\(ContainerExecutor.instanceLabel)=\(instance)").map(\.id) == [orphan])
        let fixture = try await Self.fixture { $0.engine.dataDirectory = data }
        try await fixture.test(.live) { _ in
            let gone = try await eventually(timeout: .seconds(30)) { () async throws -> Bool in
                try await engine.containers(label: "\(ContainerExecutor.instanceLabel)=\(instance)").isEmpty
            }
            #expect(gone)
        }
    }
}

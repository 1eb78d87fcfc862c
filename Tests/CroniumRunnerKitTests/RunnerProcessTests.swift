import CroniumExecutors
import CroniumRunnerKit
import CroniumTesting
import Crypto
import Foundation
import Testing

/// `cronium-runner` itself, driven through its standard input and output as the server drives it
/// over SSH: a script's output and status, its helpers' connections relayed, payloads refused,
/// the script stopped when the session ends or the deadline passes, and nothing left behind.
@Suite struct RunnerProcessTests {
    /// The runner built beside the test bundle.
    static let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("cronium-runner").path

    /// A runner with a fresh HOME that trusts `key`.
    struct Runner {
        let home: TemporaryDirectory
        let child: PipedChild
        var decoder = RunnerFrameDecoder()

        init(trusting key: Curve25519.Signing.PublicKey) throws {
            home = try TemporaryDirectory("cronium-runner-home")
            let keyFile = home.appending("trusted.pub")
            try key.rawRepresentation.base64EncodedString().write(toFile: keyFile, atomically: true, encoding: .utf8)
            child = try PipedChild([RunnerProcessTests.binary, "run", keyFile], environment: ["HOME=\(home.path)", "PATH=/usr/bin:/bin"])
        }

        /// The next frame, or nil at the end of the runner's output.
        mutating func next() async throws -> RunnerFrame? {
            while true {
                if let frame = try decoder.next() { return frame }
                let child = child
                let bytes = try await offThePool { child.read() }
                if bytes.isEmpty { return nil }
                decoder.append(bytes)
            }
        }

        /// Every frame until the runner's output ends; `answer` may reply to each.
        mutating func frames(answer: (RunnerFrame) -> RunnerFrame? = { _ in nil }) async throws -> [RunnerFrame] {
            var frames: [RunnerFrame] = []
            while let frame = try await next() {
                frames.append(frame)
                if let reply = answer(frame) { child.write(reply.encoded) }
            }
            return frames
        }

        func finish() async throws -> Int32 {
            let pid = child.pid
            return try await offThePool { waitForExit(pid) }
        }

        /// What is left of the runs' work directories.
        var leftovers: [String] { (try? FileManager.default.contentsOfDirectory(atPath: home.appending(".cache/cronium/runs"))) ?? [] }
    }

    static func payload(_ script: String, key: Curve25519.Signing.PrivateKey, deadline: Double? = nil, silenceLimit: Double? = nil) throws
        -> RunnerFrame
    {
        let manifest = RunnerManifest(
            interpreter: ["bash"],
            entrypoint: "script.sh",
            environment: ["CRONIUM_EXECUTION_ID": "42"],
            execution: .init(id: 42, eventId: 7, eventName: "test", attempt: 1),
            deadline: deadline,
            silenceLimit: silenceLimit
        )
        return RunnerFrame(
            .payload,
            try RunnerPayload.make(manifest: manifest, files: [Tar.Entry(path: "script.sh", contents: Array(script.utf8))], signingKey: key)
        )
    }

    static func text(_ frames: [RunnerFrame], _ kind: RunnerFrameKind) -> String {
        String(decoding: frames.filter { $0.kind == kind }.flatMap(\.payload), as: UTF8.self)
    }

    static func exit(_ frames: [RunnerFrame]) -> (code: Int32, signal: String)? {
        guard let frame = frames.last, frame.kind == .exit, frame.payload.count >= 4 else { return nil }
        return (Int32(bitPattern: RunnerFrame.uint32(frame.payload[0..<4])), String(decoding: frame.payload[4...], as: UTF8.self))
    }

    @Test func aScriptRunsWithItsOutputStatusAndRelayedHelpers() async throws {
        let key = Curve25519.Signing.PrivateKey()
        var runner = try Runner(trusting: key.publicKey)
        defer { runner.home.remove() }
        let script = """
            echo "out $CRONIUM_EXECUTION_ID in $(basename "$PWD")"
            echo err >&2
            /usr/bin/python3 -c "
            import os, socket
            s = socket.socket(socket.AF_UNIX)
            s.connect(os.environ['CRONIUM_RUNTIME_URL'][5:])
            s.sendall(b'ping')
            print('got', s.recv(100).decode())
            "
            exit 7
            """
        runner.child.write(try Self.payload(script, key: key).encoded)
        let frames = try await runner.frames { frame in
            // The server's side of a helper connection: answer what it sent.
            guard frame.kind == .requestData, let (id, bytes) = frame.connection, Array(bytes) == Array("ping".utf8) else { return nil }
            return RunnerFrame(.relayData, connection: id, Array("pong".utf8))
        }
        #expect(frames.first?.kind == .started)
        #expect(Self.text(frames, .stdout) == "out 42 in work\ngot pong\n")
        #expect(Self.text(frames, .stderr) == "err\n")
        #expect(frames.contains { $0.kind == .requestOpen } && frames.contains { $0.kind == .requestClose })
        #expect(Self.exit(frames)?.code == 7)
        #expect(try await runner.finish() == 0)
        #expect(runner.leftovers.isEmpty)
    }

    @Test func aChangedOrStrangersPayloadIsRefused() async throws {
        let key = Curve25519.Signing.PrivateKey()
        var tampered = try Self.payload("echo hi", key: key)
        tampered.payload[tampered.payload.count - 30] ^= 1
        for (label, frame, words) in [
            ("tampered", tampered, "content hash"), ("stranger", try Self.payload("echo hi", key: Curve25519.Signing.PrivateKey()), "signature"),
        ] {
            var runner = try Runner(trusting: key.publicKey)
            defer { runner.home.remove() }
            runner.child.write(frame.encoded)
            let frames = try await runner.frames()
            #expect(frames.map(\.kind) == [.failure], "\(label)")
            #expect(Self.text(frames, .failure).contains(words), "\(label): \(Self.text(frames, .failure))")
            #expect(try await runner.finish() == 1)
            #expect(runner.leftovers.isEmpty)
        }
    }

    @Test func theScriptStopsWhenTheSessionEndsOrTheDeadlinePasses() async throws {
        let key = Curve25519.Signing.PrivateKey()
        let marker = "cronium-runner-test-\(UUID().uuidString.prefix(8))"
        // The session ends: standard input closes while the script (and a child of its) sleeps.
        var runner = try Runner(trusting: key.publicKey)
        defer { runner.home.remove() }
        runner.child.write(try Self.payload("(exec -a \(marker) sleep 300) & echo ready; exec -a \(marker) sleep 300", key: key).encoded)
        var seen: [RunnerFrame] = []
        while let frame = try await runner.next() {
            seen.append(frame)
            if Self.text(seen, .stdout) == "ready\n" { break }
        }
        runner.child.closeInput()
        let frames = seen + (try await runner.frames())
        #expect(Self.exit(frames)?.signal == "TERM", "\(frames.map(\.kind))")
        #expect(try await runner.finish() == 0)
        #expect(livePIDs(withMarker: marker).isEmpty)
        #expect(runner.leftovers.isEmpty)

        // The deadline (plus the runner's 5 s of slack) passes: TERM, then KILL for a script that ignores it.
        var late = try Runner(trusting: key.publicKey)
        defer { late.home.remove() }
        late.child.write(
            try Self.payload(
                "trap '' TERM; exec -a \(marker) bash -c 'trap \"\" TERM; sleep 300'",
                key: key,
                deadline: Date().timeIntervalSince1970 - 4
            ).encoded
        )
        let ended = try await late.frames()
        #expect(Self.exit(ended)?.signal == "KILL", "\(ended.map(\.kind))")
        #expect(livePIDs(withMarker: marker).isEmpty)
        #expect(try await late.finish() == 0)
    }

    /// A server that goes quiet (the network between them cut, the session still open as far as
    /// sshd knows) gets its script stopped; heartbeats keep it going.
    @Test func theScriptStopsWhenTheServerGoesQuiet() async throws {
        let key = Curve25519.Signing.PrivateKey()
        let marker = "cronium-runner-quiet-\(UUID().uuidString.prefix(8))"
        var runner = try Runner(trusting: key.publicKey)
        defer { runner.home.remove() }
        let started = ContinuousClock.now
        runner.child.write(try Self.payload("exec -a \(marker) sleep 300", key: key, silenceLimit: 2).encoded)
        // Heartbeats for 3 s: longer than the limit, so only silence can stop it.
        let child = runner.child
        let beats = Task {
            for _ in 0..<6 {
                try await Task.sleep(for: .milliseconds(500))
                child.write(RunnerFrame(.heartbeat).encoded)
            }
        }
        let frames = try await runner.frames()
        try await beats.value
        let took = ContinuousClock.now - started
        #expect(Self.exit(frames)?.signal == "TERM" && took >= .seconds(4), "\(frames.map(\.kind)) after \(took)")
        #expect(livePIDs(withMarker: marker).isEmpty)
        #expect(try await runner.finish() == 0)
        #expect(runner.leftovers.isEmpty)
    }

    /// A runner killed before it could clean up (by its own script, say) leaves its directory;
    /// the next run removes it, and leaves alone one that a live runner holds.
    @Test func directoriesOfKilledRunnersAreRemovedByTheNextRun() async throws {
        let key = Curve25519.Signing.PrivateKey()
        var runner = try Runner(trusting: key.publicKey)
        defer { runner.home.remove() }
        let runs = runner.home.appending(".cache/cronium/runs")
        try FileManager.default.createDirectory(atPath: "\(runs)/7-abandoned/work", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: "\(runs)/8-held", withIntermediateDirectories: true)
        try await shell("touch -d '2 minutes ago' \(runs)/7-abandoned \(runs)/8-held")
        let held = open("\(runs)/8-held", O_RDONLY | O_DIRECTORY)
        defer { close(held) }
        #expect(flock(held, LOCK_EX | LOCK_NB) == 0)
        runner.child.write(try Self.payload("ls ..", key: key).encoded)
        let frames = try await runner.frames()
        #expect(Self.exit(frames)?.code == 0 && Self.text(frames, .stdout) == "payload\nruntime.sock\nwork\n", "\(frames.map(\.kind))")
        #expect(try await runner.finish() == 0)
        #expect(runner.leftovers == ["8-held"])
    }
}

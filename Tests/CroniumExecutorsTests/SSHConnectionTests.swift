import CroniumExecutors
import CroniumRunnerKit
import CroniumTesting
import Crypto
import Foundation
import NIOCore
import Testing

/// Cronium's SSH client against a real sshd: host keys pinned or refused, keys and passwords,
/// commands with their output, input and status, many at once over one connection.
@Suite(.serialized) struct SSHConnectionTests {
    static func target(_ host: SSHHost, credential: SSHCredential? = nil, pinned: [String]? = nil) throws -> SSHTarget {
        SSHTarget(
            host: host.host,
            port: host.port,
            username: SSHHost.user,
            credential: try credential ?? .privateKey(SSHPrivateKeys.parse(host.clientKey)),
            pinnedHostKeys: pinned ?? [HostKeys.normalised(host.hostKey)!]
        )
    }

    @Test func commandsRunWithTheirOutputInputAndStatusManyAtOnce() async throws {
        let host = try await SSHHost.start()
        defer { host.stop() }
        let connection = try await SSHConnection.connect(to: try Self.target(host))
        let result = try await connection.run("echo out; echo err >&2; whoami; exit 3")
        #expect(result.stdout == "out\n\(SSHHost.user)\n")
        #expect(result.stderr == "err\n")
        #expect(result.status == 3)
        let echoed = try await connection.run("cat; echo end", input: ByteBuffer(string: "to stdin\n"))
        #expect(echoed.stdout == "to stdin\nend\n" && echoed.status == 0)
        let killed = try await connection.run("kill -TERM $$")
        #expect(killed.signal == "TERM" && killed.status == nil)
        // Twenty commands at once over the one connection, each with its own channel and output.
        let outputs = try await withThrowingTaskGroup(of: String.self) { group in
            for i in 0..<20 { group.addTask { try await connection.run("sleep 0.2; echo \(i)").stdout } }
            return try await group.reduce(into: Set<String>()) { $0.insert($1) }
        }
        #expect(outputs == Set((0..<20).map { "\($0)\n" }))
        await connection.close()
        await #expect(throws: SSHError.self) { try await connection.run("true") }
    }

    @Test func hostKeysArePinnedExplicitlyAndAChangeIsRefused() async throws {
        let host = try await SSHHost.start()
        defer { host.stop() }
        // Nothing pinned: the key the host offers is reported, with the fingerprint ssh-keygen shows.
        let unpinned = await #expect(throws: SSHError.self) { try await SSHConnection.connect(to: try Self.target(host, pinned: [])) }
        #expect(unpinned?.code == .hostKeyNotPinned)
        #expect(unpinned?.offeredHostKey == HostKeys.normalised(host.hostKey))
        let listed = try await shell("ssh-keygen -l -f \(host.directory.appending("host_key.pub"))")
        let fingerprint = try #require(HostKeys.fingerprint(of: host.hostKey))
        #expect(listed.contains(fingerprint), "\(listed) vs \(fingerprint)")
        #expect(unpinned?.description.contains(fingerprint) == true)
        // Another key pinned: refused, naming both.
        try await shell("ssh-keygen -q -t ed25519 -N '' -f \(host.directory.appending("other"))")
        let other = try String(contentsOfFile: host.directory.appending("other.pub"), encoding: .utf8)
        let changed = await #expect(throws: SSHError.self) {
            try await SSHConnection.connect(to: try Self.target(host, pinned: [HostKeys.normalised(other)!]))
        }
        #expect(changed?.code == .hostKeyChanged)
        #expect(changed?.description.contains(fingerprint) == true && changed?.description.contains(HostKeys.fingerprint(of: other)!) == true)
    }

    @Test func keysAndPasswordsLogInAndWrongOnesAreRefused() async throws {
        let host = try await SSHHost.start()
        defer { host.stop() }
        let password = try await SSHConnection.connect(to: try Self.target(host, credential: .password(SSHHost.password)))
        #expect(try await password.run("echo ok").stdout == "ok\n")
        await password.close()
        let wrongPassword = await #expect(throws: SSHError.self) {
            try await SSHConnection.connect(to: try Self.target(host, credential: .password("not-it")))
        }
        #expect(wrongPassword?.code == .authenticationFailed)
        #expect(wrongPassword?.description.contains(SSHHost.user) == true && wrongPassword?.description.contains("not-it") == false)
        try await shell("ssh-keygen -q -t ed25519 -N '' -f \(host.directory.appending("stranger"))")
        let stranger = try SSHPrivateKeys.parse(try String(contentsOfFile: host.directory.appending("stranger"), encoding: .utf8))
        let wrongKey = await #expect(throws: SSHError.self) {
            try await SSHConnection.connect(to: try Self.target(host, credential: .privateKey(stranger)))
        }
        #expect(wrongKey?.code == .authenticationFailed)
        // Nothing listens on the port: refused, said so at once.
        let closed = try freePort()
        var nowhere = try Self.target(host)
        nowhere.port = closed
        let unreachable = await #expect(throws: SSHError.self) { try await SSHConnection.connect(to: nowhere) }
        #expect(unreachable?.code == .unreachable && unreachable?.description.contains("refused") == true, "\(String(describing: unreachable))")
    }

    @Test func everyKeyTypeSshKeygenWritesIsRead() async throws {
        let directory = try TemporaryDirectory("cronium-keys")
        defer { directory.remove() }
        for (type, bits, passphrase) in [
            ("ed25519", 0, ""), ("ecdsa", 256, ""), ("ecdsa", 384, ""), ("ecdsa", 521, ""), ("ed25519", 0, "correct horse"), ("ecdsa", 256, "p"),
        ] {
            let file = directory.appending("\(type)-\(bits)-\(passphrase.count)")
            // Two bcrypt rounds, not ssh-keygen's 16: the same code path, and fast in a debug build.
            try await shell("ssh-keygen -q -a 2 -t \(type) \(bits > 0 ? "-b \(bits)" : "") -N '\(passphrase)' -f \(file)")
            let key = try SSHPrivateKeys.parse(try String(contentsOfFile: file, encoding: .utf8), passphrase: passphrase)
            let expected = try String(contentsOfFile: file + ".pub", encoding: .utf8)
            #expect(HostKeys.normalised(SSHPrivateKeys.publicLine(of: key)) == HostKeys.normalised(expected), "\(file)")
            if !passphrase.isEmpty {
                let wrong = #expect(throws: SSHError.self) {
                    try SSHPrivateKeys.parse(try String(contentsOfFile: file, encoding: .utf8), passphrase: "wrong")
                }
                #expect(wrong?.description.contains("passphrase") == true)
                let missing = #expect(throws: SSHError.self) { try SSHPrivateKeys.parse(try String(contentsOfFile: file, encoding: .utf8)) }
                #expect(missing?.description.contains("passphrase") == true)
            }
        }
        try await shell("ssh-keygen -q -t rsa -b 2048 -N '' -f \(directory.appending("rsa"))")
        let rsa = #expect(throws: SSHError.self) { try SSHPrivateKeys.parse(try String(contentsOfFile: directory.appending("rsa"), encoding: .utf8)) }
        #expect(rsa?.description.contains("ssh-keygen -t ed25519") == true)
        #expect(throws: SSHError.self) { try SSHPrivateKeys.parse("ssh-ed25519 AAAA this is a public key") }
    }

    @Test func knownHostsFilesArePlainHashedOrOnAPort() async throws {
        let directory = try TemporaryDirectory("cronium-known")
        defer { directory.remove() }
        try await shell(
            "ssh-keygen -q -t ed25519 -N '' -f \(directory.appending("a")) && ssh-keygen -q -t ecdsa -N '' -f \(directory.appending("b"))"
        )
        let a = HostKeys.normalised(try String(contentsOfFile: directory.appending("a.pub"), encoding: .utf8))!
        let b = HostKeys.normalised(try String(contentsOfFile: directory.appending("b.pub"), encoding: .utf8))!
        let file = directory.appending("known_hosts")
        try "web1.example,10.0.0.5 \(a)\n[10.0.0.5]:2222 \(b)\n*.internal,!db.internal \(b)\n# comment\n@revoked * \(a)\n".write(
            toFile: file,
            atomically: true,
            encoding: .utf8
        )
        var text = try String(contentsOfFile: file, encoding: .utf8)
        #expect(HostKeys.known(in: text, host: "10.0.0.5", port: 22) == [a])
        #expect(HostKeys.known(in: text, host: "10.0.0.5", port: 2222) == [b])
        #expect(HostKeys.known(in: text, host: "app.internal", port: 22) == [b])
        #expect(HostKeys.known(in: text, host: "db.internal", port: 22) == [])
        // Hashed by ssh-keygen -H: the names are no longer readable, and still found.
        try await shell("ssh-keygen -q -H -f \(file) >/dev/null 2>&1; rm -f \(file).old")
        text = try String(contentsOfFile: file, encoding: .utf8)
        #expect(!text.contains("web1.example"))
        #expect(HostKeys.known(in: text, host: "web1.example", port: 22) == [a])
        #expect(HostKeys.known(in: text, host: "10.0.0.5", port: 2222) == [b])
    }

    /// The runner built beside the test bundle.
    static let runnerBinary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("cronium-runner").path

    @Test func theRunnerIsDeployedOnceRunsAPayloadOverTheSessionAndStopsWithIt() async throws {
        let host = try await SSHHost.start()
        defer { host.stop() }
        let connection = try await SSHConnection.connect(to: try Self.target(host))
        defer { Task { await connection.close() } }
        // A build of its own (bytes after the end of the executable change its checksum, not what
        // it does): other tests deploy the runner to the same account, and must not find it damaged.
        let binary = Array(try Data(contentsOf: URL(fileURLWithPath: Self.runnerBinary))) + Array(UUID().uuidString.utf8)
        let deployment = RunnerDeployment(binary: binary, signingKey: Curve25519.Signing.PrivateKey())
        let first = try await deployment.ensure(on: connection)
        #expect(first.uploaded && first.version.hasPrefix("cronium-runner \(RunnerVersion.current)"), "\(first)")
        #expect(try await deployment.ensure(on: connection).uploaded == false)
        // A damaged runner on the host is replaced.
        _ = try await connection.run("printf x >> \(deployment.runnerPath)")
        #expect(try await deployment.ensure(on: connection).uploaded == true)

        // A payload over the session: the script runs as the login user, in the runner's work directory.
        let marker = "cronium-ssh-test-\(UUID().uuidString.prefix(8))"
        let manifest = RunnerManifest(
            interpreter: ["bash"],
            entrypoint: "s.sh",
            environment: [:],
            execution: .init(id: 1, eventId: 1, eventName: "t", attempt: 1),
            deadline: nil
        )
        func payload(_ script: String) throws -> [UInt8] {
            RunnerFrame(
                .payload,
                try RunnerPayload.make(
                    manifest: manifest,
                    files: [Tar.Entry(path: "s.sh", contents: Array(script.utf8))],
                    signingKey: deployment.signingKey
                )
            ).encoded
        }
        let input = try payload("echo \"hi from $(whoami)\"; exit 4")
        let (stdout, stderr) = try await connection.exec(deployment.runCommand) { inbound, outbound in
            try await outbound.write(ByteBuffer(bytes: input))
            var (out, err) = ([UInt8](), "")
            for try await piece in inbound {
                if case .stdout(let bytes) = piece { out += Array(buffer: bytes) }
                if case .stderr(let bytes) = piece { err += String(buffer: bytes) }
            }
            return (out, err)
        }
        var decoder = RunnerFrameDecoder()
        decoder.append(stdout)
        var frames: [RunnerFrame] = []
        while let frame = try decoder.next() { frames.append(frame) }
        #expect(frames.map(\.kind) == [.started, .stdout, .exit], "\(frames.map(\.kind)) \(stderr)")
        #expect(frames.count == 3 && String(decoding: frames[1].payload, as: UTF8.self) == "hi from \(SSHHost.user)\n")
        #expect(frames.last.map { RunnerFrame.uint32($0.payload[0..<4]) } == 4)

        // The connection is cut mid-run: the runner stops its script, and leaves nothing.
        let doomed = try await SSHConnection.connect(to: try Self.target(host))
        let script = try payload("(exec -a \(marker) sleep 300) & echo ready; exec -a \(marker) sleep 300")
        try await doomed.exec(deployment.runCommand) { inbound, outbound in
            try await outbound.write(ByteBuffer(bytes: script))
            for try await piece in inbound {
                if case .stdout(let bytes) = piece, String(buffer: bytes).contains("ready") { break }
            }
            #expect(try await eventually { livePIDs(withMarker: marker).count == 2 })
        }
        await doomed.close()
        #expect(try await eventually(timeout: .seconds(20)) { livePIDs(withMarker: marker).isEmpty })
        // Other tests' runs come and go in the same account: this one's (execution 1) must go.
        #expect(try await eventually(timeout: .seconds(60)) { try await connection.run("ls ~/.cache/cronium/runs | grep -c '^1-'").stdout == "0\n" })
        _ = try await connection.run("rm -rf \(deployment.directory)")
    }
}

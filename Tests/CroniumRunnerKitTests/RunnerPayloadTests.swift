import CroniumExecutors
import CroniumRunnerKit
import CroniumTesting
import Crypto
import Foundation
import Testing

/// The runner's protocol and payloads: frames cut however the bytes arrive, archives that GNU tar
/// reads and writes, and payloads refused when anything in them was changed or could escape.
@Suite struct RunnerPayloadTests {
    @Test func framesComeOutWholeHoweverTheBytesArrive() throws {
        let frames = [
            RunnerFrame(.stdout, Array("hello\n".utf8)), RunnerFrame(.requestData, connection: 7, Array("GET /".utf8)),
            RunnerFrame(.exit, [0, 0, 0, 3]),
            RunnerFrame(.signal, Array("TERM".utf8)), RunnerFrame(.relayClose, connection: 7),
        ]
        let bytes = frames.flatMap(\.encoded)
        for pieceSize in [1, 3, 7, bytes.count] {
            var decoder = RunnerFrameDecoder()
            var decoded: [RunnerFrame] = []
            for start in stride(from: 0, to: bytes.count, by: pieceSize) {
                decoder.append(bytes[start..<min(start + pieceSize, bytes.count)])
                while let frame = try decoder.next() { decoded.append(frame) }
            }
            #expect(decoded == frames, "pieces of \(pieceSize)")
        }
        #expect(frames[1].connection?.id == 7 && frames[1].connection.map { Array($0.bytes) } == Array("GET /".utf8))
        var stranger = RunnerFrameDecoder()
        stranger.append(Array("SSH-2.0-OpenSSH".utf8))
        #expect(throws: RunnerFrameError.self) { try stranger.next() }
        var huge = RunnerFrameDecoder()
        huge.append([RunnerFrameKind.stdout.rawValue, 0x7F, 0xFF, 0xFF, 0xFF])
        #expect(throws: RunnerFrameError.self) { try huge.next() }
    }

    @Test func archivesAreReadAndWrittenAsGNUTarDoes() async throws {
        let directory = try TemporaryDirectory("cronium-tar")
        defer { directory.remove() }
        let entries = [
            Tar.Entry(path: "helpers", mode: 0o755, isDirectory: true),
            Tar.Entry(path: "helpers/cronium.sh", mode: 0o644, contents: Array("cronium_x() { :; }\n".utf8)),
            Tar.Entry(path: "script.py", mode: 0o700, contents: Array(String(repeating: "print('x')\n", count: 100).utf8)),
            Tar.Entry(path: "empty", contents: []),
        ]
        let archive = try Gzip.compress(try Tar.archive(entries))
        try Data(archive).write(to: URL(fileURLWithPath: directory.appending("ours.tar.gz")))
        let listed = try await shell("tar -tvzf \(directory.appending("ours.tar.gz"))")
        #expect(listed.contains("helpers/cronium.sh") && listed.contains("-rwx------") && listed.contains("script.py"), "\(listed)")
        #expect(try Tar.entries(try Gzip.decompress(archive, limit: 1 << 20)) == entries)

        // GNU tar's own archive reads back; one with a link, or a name that climbs out, is refused.
        try await shell(
            "cd \(directory.path) && mkdir -p in/sub && echo hi > in/sub/a.txt && tar -czf gnu.tar.gz -C in sub && ln -s /etc/passwd in/link && tar -czf link.tar.gz -C in link"
        )
        let gnu = try Tar.entries(
            try Gzip.decompress(Array(try Data(contentsOf: URL(fileURLWithPath: directory.appending("gnu.tar.gz")))), limit: 1 << 20)
        )
        #expect(gnu.map(\.path) == ["sub", "sub/a.txt"] && gnu[1].contents == Array("hi\n".utf8))
        let link = #expect(throws: Tar.Refusal.self) {
            try Tar.entries(
                try Gzip.decompress(Array(try Data(contentsOf: URL(fileURLWithPath: directory.appending("link.tar.gz")))), limit: 1 << 20)
            )
        }
        #expect(link?.description.contains("links are not allowed") == true)
        try await shell("cd \(directory.path) && tar -czf climb.tar.gz -P in/sub/../sub/a.txt /etc/hostname")
        let climb = #expect(throws: Tar.Refusal.self) {
            try Tar.entries(
                try Gzip.decompress(Array(try Data(contentsOf: URL(fileURLWithPath: directory.appending("climb.tar.gz")))), limit: 1 << 20)
            )
        }
        #expect(climb?.description.contains("'..' is not allowed") == true, "\(String(describing: climb))")
        #expect(throws: Tar.Refusal.self) { try Tar.safePath("/etc/passwd") }
        #expect(try Tar.safePath("./a/./b") == "a/b")

        // A bomb: a megabyte of zeros from a few kilobytes is refused past the limit.
        let bomb = try Gzip.compress([UInt8](repeating: 0, count: 1 << 20))
        #expect(bomb.count < 8 << 10)
        #expect(throws: Gzip.Failure.self) { try Gzip.decompress(bomb, limit: 512 << 10) }
        #expect(throws: Gzip.Failure.self) { try Gzip.decompress(Array(bomb.prefix(bomb.count / 2)), limit: 2 << 20) }
    }

    @Test func aPayloadOpensOnlyAsSignedAndUnchanged() throws {
        let key = Curve25519.Signing.PrivateKey()
        let manifest = RunnerManifest(
            interpreter: ["python3"],
            entrypoint: "script.py",
            environment: ["A": "1"],
            execution: .init(id: 42, eventId: 7, eventName: "nightly", attempt: 1),
            deadline: 1_900_000_000
        )
        let files = [
            Tar.Entry(path: "script.py", contents: Array("print('hi')\n".utf8)),
            Tar.Entry(path: "helpers/python/cronium/__init__.py", contents: Array("x = 1\n".utf8)),
        ]
        let payload = try RunnerPayload.make(manifest: manifest, files: files, signingKey: key)
        let (opened, openedFiles) = try RunnerPayload.open(payload, trusting: Array(key.publicKey.rawRepresentation))
        #expect(opened.entrypoint == "script.py" && opened.execution.id == 42 && opened.files.count == 2)
        #expect(openedFiles.map(\.path).sorted() == ["helpers/python/cronium/__init__.py", "script.py"])

        // One byte of the archive changed: its hash is wrong.
        var tampered = payload
        tampered[tampered.count - 20] ^= 0xFF
        #expect(
            (#expect(throws: RunnerPayload.Refusal.self) { try RunnerPayload.open(tampered, trusting: Array(key.publicKey.rawRepresentation)) })?
                .description.contains("content hash") == true
        )
        // The hash made again to match: the signature no longer fits.
        let rehashed = Array(SHA256.hash(data: Array(tampered[96...]))) + Array(tampered[32...])
        #expect(
            (#expect(throws: RunnerPayload.Refusal.self) { try RunnerPayload.open(rehashed, trusting: Array(key.publicKey.rawRepresentation)) })?
                .description.contains("signature") == true
        )
        // Signed by another server's key.
        let stranger = try RunnerPayload.make(manifest: manifest, files: files, signingKey: Curve25519.Signing.PrivateKey())
        #expect(
            (#expect(throws: RunnerPayload.Refusal.self) { try RunnerPayload.open(stranger, trusting: Array(key.publicKey.rawRepresentation)) })?
                .description.contains("signature") == true
        )
        // Signed, but with an entry that climbs out: refused all the same.
        let archive = try Gzip.compress(
            try Tar.archive([Tar.Entry(path: "manifest.yaml", contents: Array("{}".utf8)), Tar.Entry(path: "a/../../x", contents: [1])])
        )
        let digest = Array(SHA256.hash(data: archive))
        let slip = digest + Array(try key.signature(for: digest)) + archive
        #expect(
            (#expect(throws: RunnerPayload.Refusal.self) { try RunnerPayload.open(slip, trusting: Array(key.publicKey.rawRepresentation)) })?
                .description.contains("'..'") == true
        )
    }
}

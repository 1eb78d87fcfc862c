/// What a run needs on the host, as `manifest.yaml` in the payload. It is written in YAML's
/// JSON-compatible form (every JSON document is YAML), so the runner reads it without a YAML
/// library.
public struct RunnerManifest: Codable, Sendable, Equatable {
    public static let currentVersion = 1

    public struct Execution: Codable, Sendable, Equatable {
        public var id: Int64
        public var eventId: Int64
        public var eventName: String
        public var attempt: Int

        public init(id: Int64, eventId: Int64, eventName: String, attempt: Int) {
            self.id = id
            self.eventId = eventId
            self.eventName = eventName
            self.attempt = attempt
        }
    }

    public var version: Int
    /// The interpreter and its arguments, found through the host's PATH (`["python3"]`).
    public var interpreter: [String]
    /// The script's file in the payload.
    public var entrypoint: String
    public var environment: [String: String]
    public var execution: Execution
    /// When the run must have ended (seconds since 1970); the runner stops the script then.
    public var deadline: Double?
    /// Each file of the payload and the hex SHA-256 of its contents: anything else is refused.
    public var files: [String: String]
    /// Seconds without a frame from the server after which the runner stops the script (the
    /// server is gone); nil takes ``defaultSilenceLimit``.
    public var silenceLimit: Double?

    public static let defaultSilenceLimit = 45.0

    public init(
        interpreter: [String],
        entrypoint: String,
        environment: [String: String],
        execution: Execution,
        deadline: Double?,
        silenceLimit: Double? = nil
    ) {
        self.silenceLimit = silenceLimit
        self.version = Self.currentVersion
        self.interpreter = interpreter
        self.entrypoint = entrypoint
        self.environment = environment
        self.execution = execution
        self.deadline = deadline
        self.files = [:]
    }
}

/// A signed payload: the frame body `sha256(archive) ‖ Ed25519 signature of that hash ‖ archive`,
/// the archive a tar.gz of `manifest.yaml` and the files it lists.
public enum RunnerPayload {
    public static let manifestName = "manifest.yaml"
    /// The most a payload's archive may hold once inflated.
    public static let maximumSize = 64 << 20

    public struct Refusal: Error, Sendable, Equatable, CustomStringConvertible {
        public let description: String
        public init(_ description: String) { self.description = description }
    }

    /// The manifest and files of `payload`, once its hash, its signature (by `publicKey`) and every
    /// file's hash are right and no entry escapes its directory.
    /// `publicKey`: the trusted Ed25519 key's 32 bytes. (``make`` is the server's: it signs with
    /// swift-crypto; this side checks with the runner's own ``SHA256Digest`` and ``Ed25519``.)
    public static func open(_ payload: [UInt8], trusting publicKey: [UInt8]) throws(Refusal) -> (RunnerManifest, [Tar.Entry]) {
        guard payload.count > 96 else { throw Refusal("the payload is cut short") }
        let digest = Array(payload[0..<32])
        let signature = Array(payload[32..<96])
        let archive = Array(payload[96...])
        guard SHA256Digest.hash(archive) == digest else { throw Refusal("the payload's content hash is wrong: it was changed on the way") }
        guard Ed25519.isValidSignature(signature, of: digest, publicKey: publicKey) else {
            throw Refusal("the payload's signature is wrong: it was not signed by the Cronium server this runner trusts")
        }
        let entries: [Tar.Entry]
        do {
            entries = try Tar.entries(try Gzip.decompress(archive, limit: maximumSize))
        } catch let error as Tar.Refusal {
            throw Refusal(error.description)
        } catch {
            throw Refusal("\(error)")
        }
        guard let manifestEntry = entries.first(where: { $0.path == manifestName }),
            let manifest = RunnerManifest(json: manifestEntry.contents)
        else { throw Refusal("the payload has no readable \(manifestName)") }
        guard manifest.version == RunnerManifest.currentVersion else {
            throw Refusal(
                "the payload's format \(manifest.version) is not this runner's (\(RunnerManifest.currentVersion)): the runner will be replaced"
            )
        }
        let files = entries.filter { $0.path != manifestName }
        for file in files where !file.isDirectory {
            guard let expected = manifest.files[file.path] else { throw Refusal("\(file.path) is not listed in the manifest") }
            guard hex(SHA256Digest.hash(file.contents)) == expected else { throw Refusal("\(file.path): its content hash is wrong") }
        }
        let present = Set(files.map(\.path))
        if let missing = manifest.files.keys.sorted().first(where: { !present.contains($0) }) { throw Refusal("\(missing) is listed but missing") }
        return (manifest, files)
    }

    public static func hex(_ digest: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        return String(decoding: digest.flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 0xF)]] }, as: UTF8.self)
    }
}

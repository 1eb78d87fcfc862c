/// What the server and `cronium-runner` say to each other over the SSH session (the runner's
/// standard input and output): frames of one kind byte, a big-endian 32-bit length, and that
/// many bytes.
public enum RunnerFrameKind: UInt8, Sendable {
    // Server to runner.
    /// The run: a SHA-256 of the archive (32 bytes), its Ed25519 signature (64), the tar.gz.
    case payload = 0x50
    /// Bytes for a helper connection: its id (4 bytes), then the bytes.
    case relayData = 0x52
    /// The server closed a helper connection: its id.
    case relayClose = 0x72
    /// Stop the script: `TERM` or `KILL` (its whole process group).
    case signal = 0x53
    /// The server is still there: sent every ``RunnerFrame/heartbeatSeconds``. A runner that hears
    /// nothing for ``RunnerManifest/silenceLimit`` stops its script: a network cut off between
    /// the two ends no session that sshd would notice soon.
    case heartbeat = 0x48

    // Runner to server.
    /// The payload was accepted and the script started: its process id (4 bytes).
    case started = 0x47
    case stdout = 0x4F
    case stderr = 0x45
    /// A helper connection opened on the host: its id.
    case requestOpen = 0x41
    /// Bytes a helper sent: its connection id, then the bytes.
    case requestData = 0x51
    /// A helper closed its connection: its id.
    case requestClose = 0x71
    /// The script ended: its exit status (4 bytes, signed), then the signal's name if a signal ended it.
    case exit = 0x58
    /// The runner refused the run or could not start it: a message.
    case failure = 0x46
}

public struct RunnerFrame: Sendable, Equatable {
    public var kind: RunnerFrameKind
    public var payload: [UInt8]

    public init(_ kind: RunnerFrameKind, _ payload: [UInt8] = []) {
        self.kind = kind
        self.payload = payload
    }

    /// A frame about a connection: its id, then `bytes`.
    public init(_ kind: RunnerFrameKind, connection: UInt32, _ bytes: [UInt8] = []) {
        self.init(kind, RunnerFrame.bigEndian(connection) + bytes)
    }

    /// How often the server says it is there while a run goes on.
    public static let heartbeatSeconds = 10.0

    public var encoded: [UInt8] {
        [kind.rawValue] + RunnerFrame.bigEndian(UInt32(payload.count)) + payload
    }

    /// The connection id a relay frame starts with, and the bytes after it.
    public var connection: (id: UInt32, bytes: ArraySlice<UInt8>)? {
        guard payload.count >= 4 else { return nil }
        return (RunnerFrame.uint32(payload[0..<4]), payload[4...])
    }

    public static func bigEndian(_ value: UInt32) -> [UInt8] {
        [UInt8(value >> 24), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)]
    }

    public static func uint32(_ bytes: ArraySlice<UInt8>) -> UInt32 {
        bytes.prefix(4).reduce(0) { $0 << 8 | UInt32($1) }
    }
}

public struct RunnerFrameError: Error, Sendable, Equatable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Cuts a byte stream into frames, however it arrives.
public struct RunnerFrameDecoder: Sendable {
    /// The largest frame either side accepts (the payload is the largest one).
    public static let maximumLength = 64 << 20
    private var buffer: [UInt8] = []
    private var start = 0

    public init() {}

    public mutating func append(_ bytes: some Sequence<UInt8>) {
        if start > 0 && start == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            start = 0
        }
        buffer.append(contentsOf: bytes)
    }

    /// The next whole frame, or nil until more bytes come.
    public mutating func next() throws(RunnerFrameError) -> RunnerFrame? {
        guard buffer.count - start >= 5 else { return nil }
        guard let kind = RunnerFrameKind(rawValue: buffer[start]) else {
            throw RunnerFrameError("an unknown frame kind \(buffer[start]): the other side speaks another protocol")
        }
        let length = Int(RunnerFrame.uint32(buffer[start + 1..<start + 5]))
        guard length <= Self.maximumLength else { throw RunnerFrameError("a frame of \(length) bytes is larger than \(Self.maximumLength)") }
        guard buffer.count - start - 5 >= length else { return nil }
        let frame = RunnerFrame(kind, Array(buffer[start + 5..<start + 5 + length]))
        start += 5 + length
        if start > 1 << 20 {
            buffer.removeFirst(start)
            start = 0
        }
        return frame
    }
}

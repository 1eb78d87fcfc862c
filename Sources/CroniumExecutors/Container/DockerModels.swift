import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// What went wrong talking to the container engine, in words a person can act on.
public struct DockerError: Error, CustomStringConvertible, Sendable {
    /// What kind of failure, for callers that explain or react (a missing image is pulled or built).
    public enum Code: Sendable, Equatable {
        /// Nothing answers on the socket (no engine, none configured, or not started).
        case unreachable
        /// What answers is not a Docker API, or one too old.
        case notAnEngine
        /// The engine refused what it was asked; the description has its status and message.
        case refused
        /// The engine does not have the image a container was asked of.
        case noSuchImage
        /// The engine's answer could not be read.
        case badAnswer
        /// A step on this machine failed (reading a file, building an image's root).
        case local
    }

    public var code: Code
    public var description: String

    public init(_ code: Code, _ description: String) {
        self.code = code
        self.description = description
    }

    init(status: HTTPResponseStatus, body: String, doing what: String) {
        let message = (try? JSONDecoder().decode(EngineMessage.self, from: Data(body.utf8)))?.message ?? body
        let reason = message.trimmingCharacters(in: .whitespacesAndNewlines)
        code = .refused
        description =
            what == "answer"
            ? "the container engine answered \(status.code): \(reason)" : "the container engine refused to \(what) (\(status.code)): \(reason)"
    }

    init(unreachable socketPath: String, _ error: any Error) {
        self.init(unreachable: socketPath, reason: Self.reason(error))
    }

    init(unreachable socketPath: String, reason: String) {
        self.init(.unreachable, "cannot reach the container engine at \(socketPath): \(reason)")
    }

    /// The few words behind a connection failure ("No such file or directory" for a missing socket).
    private static func reason(_ error: any Error) -> String {
        let text = "\(error)"
        if text.contains("No such file") || text.contains("ENOENT") { return "no such socket (is the engine installed and started?)" }
        if text.contains("Connection refused") || text.contains("ECONNREFUSED") { return "nothing listens there (is the engine started?)" }
        if text.contains("Permission denied") || text.contains("EACCES") { return "permission denied (the server's user may not use the socket)" }
        return text
    }

    private struct EngineMessage: Decodable {
        let message: String
    }
}

public struct ImageInfo: Decodable, Sendable {
    public let id: String
    public let labels: [String: String]
    public let size: Int64?

    enum CodingKeys: String, CodingKey {
        case id = "Id", config = "Config", size = "Size"
    }
    enum ConfigKeys: String, CodingKey {
        case labels = "Labels"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(String.self, forKey: .id)
        size = try container.decodeIfPresent(Int64.self, forKey: .size)
        let config = try? container.nestedContainer(keyedBy: ConfigKeys.self, forKey: .config)
        labels = (try? config?.decodeIfPresent([String: String].self, forKey: .labels)) ?? [:]
    }
}

struct ProgressMessage: Decodable {
    let status: String?
    let id: String?
    let error: String?
    let errorDetail: Detail?

    struct Detail: Decodable {
        let message: String?
    }
}

/// The body of `POST /containers/create`: only what Cronium sets.
public struct ContainerSpec: Encodable, Sendable {
    public var image: String
    public var command: [String]
    public var user: String
    public var workingDirectory: String
    public var environment: [String: String]
    public var labels: [String: String]
    public var host: HostConfig

    public init(
        image: String,
        command: [String],
        user: String,
        workingDirectory: String,
        environment: [String: String],
        labels: [String: String],
        host: HostConfig
    ) {
        self.image = image
        self.command = command
        self.user = user
        self.workingDirectory = workingDirectory
        self.environment = environment
        self.labels = labels
        self.host = host
    }

    public struct HostConfig: Encodable, Sendable {
        /// `host:container[:ro]`.
        public var binds: [String]
        /// Mount point → options (`size=…,mode=…`).
        public var tmpfs: [String: String]
        public var readOnlyRoot = true
        public var dropCapabilities = ["ALL"]
        public var securityOptions = ["no-new-privileges"]
        public var network: String
        public var memoryBytes: Int64
        public var nanoCPUs: Int64
        public var pidsLimit: Int64
        public var openFiles: Int64
        /// Per-uid on the host: high, since the PID limit is what bounds the container.
        public var userProcesses: Int64 = 32768

        public init(
            binds: [String],
            tmpfs: [String: String],
            network: String,
            memoryBytes: Int64,
            nanoCPUs: Int64,
            pidsLimit: Int64,
            openFiles: Int64
        ) {
            self.binds = binds
            self.tmpfs = tmpfs
            self.network = network
            self.memoryBytes = memoryBytes
            self.nanoCPUs = nanoCPUs
            self.pidsLimit = pidsLimit
            self.openFiles = openFiles
        }

        enum CodingKeys: String, CodingKey {
            case binds = "Binds", tmpfs = "Tmpfs", readOnlyRoot = "ReadonlyRootfs", dropCapabilities = "CapDrop", securityOptions = "SecurityOpt"
            case network = "NetworkMode", memoryBytes = "Memory", memorySwap = "MemorySwap", nanoCPUs = "NanoCpus", pidsLimit = "PidsLimit"
            case ulimits = "Ulimits"
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(binds, forKey: .binds)
            try container.encode(tmpfs, forKey: .tmpfs)
            try container.encode(readOnlyRoot, forKey: .readOnlyRoot)
            try container.encode(dropCapabilities, forKey: .dropCapabilities)
            try container.encode(securityOptions, forKey: .securityOptions)
            try container.encode(network, forKey: .network)
            try container.encode(memoryBytes, forKey: .memoryBytes)
            // No swap beyond the memory limit: a run over it ends instead of crawling.
            try container.encode(memoryBytes, forKey: .memorySwap)
            try container.encode(nanoCPUs, forKey: .nanoCPUs)
            try container.encode(pidsLimit, forKey: .pidsLimit)
            // Both, always: an engine fills a missing one with its own default, which may be
            // more than the host lets it set.
            try container.encode(
                [Ulimit(name: "nofile", soft: openFiles, hard: openFiles), Ulimit(name: "nproc", soft: userProcesses, hard: userProcesses)],
                forKey: .ulimits
            )
        }
    }

    struct Ulimit: Encodable {
        let name: String
        let soft: Int64
        let hard: Int64
        enum CodingKeys: String, CodingKey {
            case name = "Name", soft = "Soft", hard = "Hard"
        }
    }

    enum CodingKeys: String, CodingKey {
        case image = "Image", command = "Cmd", user = "User", workingDirectory = "WorkingDir", environment = "Env", labels = "Labels"
        case host = "HostConfig"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(image, forKey: .image)
        try container.encode(command, forKey: .command)
        try container.encode(user, forKey: .user)
        try container.encode(workingDirectory, forKey: .workingDirectory)
        try container.encode(environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }, forKey: .environment)
        try container.encode(labels, forKey: .labels)
        try container.encode(host, forKey: .host)
    }
}

struct CreatedContainer: Decodable {
    let id: String
    enum CodingKeys: String, CodingKey {
        case id = "Id"
    }
}

struct WaitResult: Decodable {
    let statusCode: Int
    enum CodingKeys: String, CodingKey {
        case statusCode = "StatusCode"
    }
}

public struct ContainerDetails: Decodable, Sendable {
    public let state: State

    public struct State: Decodable, Sendable {
        public let status: String
        public let exitCode: Int
        public let oomKilled: Bool
        enum CodingKeys: String, CodingKey {
            case status = "Status", exitCode = "ExitCode", oomKilled = "OOMKilled"
        }
    }

    enum CodingKeys: String, CodingKey {
        case state = "State"
    }
}

public struct ContainerSummary: Decodable, Sendable {
    public let id: String
    public let labels: [String: String]
    public let state: String?

    enum CodingKeys: String, CodingKey {
        case id = "Id", labels = "Labels", state = "State"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(String.self, forKey: .id)
        labels = (try? container.decodeIfPresent([String: String].self, forKey: .labels)) ?? [:]
        state = try? container.decodeIfPresent(String.self, forKey: .state)
    }
}

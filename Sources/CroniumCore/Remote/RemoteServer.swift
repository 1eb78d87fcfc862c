import Foundation

public typealias RemoteServerID = Identifier<RemoteServer>

/// A host that runs its owner's events over SSH. Its credential (a private key, with its
/// passphrase, or a password) is sealed at rest and never returned; its host key is pinned
/// explicitly, and a host that offers another key is refused.
public struct RemoteServer: Codable, Sendable, Equatable {
    public var id: RemoteServerID
    public var name: String
    public var host: String
    public var port: Int
    public var username: String
    public var auth: RemoteAuth
    /// For key logins: the public half of the key, as the host's authorized_keys needs it.
    public var publicKey: String?
    public var tags: [String]
    /// The keys Cronium trusts for this host.
    public var hostKeys: [PinnedHostKey]
    /// Set when the host last offered a key that is not pinned; cleared by pinning again.
    public var hostKeyMismatch: HostKeyMismatch?
    /// How the server's connections fare now (this node's view; not stored).
    public var connection: RemoteConnectionState?
    public var createdAt: Date
    public var updatedAt: Date

    public init(
        id: RemoteServerID,
        name: String,
        host: String,
        port: Int,
        username: String,
        auth: RemoteAuth,
        publicKey: String?,
        tags: [String],
        hostKeys: [PinnedHostKey],
        hostKeyMismatch: HostKeyMismatch?,
        connection: RemoteConnectionState? = nil,
        createdAt: Date,
        updatedAt: Date
    ) {
        self.id = id
        self.name = name
        self.host = host
        self.port = port
        self.username = username
        self.auth = auth
        self.publicKey = publicKey
        self.tags = tags
        self.hostKeys = hostKeys
        self.hostKeyMismatch = hostKeyMismatch
        self.connection = connection
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

public enum RemoteAuth: String, ClosedSetCodable, Sendable {
    case privateKey = "PRIVATE_KEY"
    case password = "PASSWORD"
}

/// A host key Cronium trusts: the OpenSSH public key line and its SHA-256 fingerprint.
public struct PinnedHostKey: Codable, Sendable, Equatable {
    public var type: String
    public var fingerprint: String
    public var key: String

    public init(type: String, fingerprint: String, key: String) {
        self.type = type
        self.fingerprint = fingerprint
        self.key = key
    }
}

/// A key the host offered that is not pinned: every connection is refused until it is resolved.
public struct HostKeyMismatch: Codable, Sendable, Equatable {
    public var offered: PinnedHostKey
    public var seenAt: Date

    public init(offered: PinnedHostKey, seenAt: Date) {
        self.offered = offered
        self.seenAt = seenAt
    }
}

/// The server's circuit breaker and pooled connection, as this node sees them.
public struct RemoteConnectionState: Codable, Sendable, Equatable {
    public enum Breaker: String, Codable, Sendable {
        /// Connections are tried.
        case closed = "CLOSED"
        /// Recent attempts failed: runs fail at once until `retryAt`.
        case open = "OPEN"
        /// One trial connection decides whether it closes again.
        case halfOpen = "HALF_OPEN"
    }

    public var breaker: Breaker
    public var consecutiveFailures: Int
    public var retryAt: Date?
    public var lastError: String?
    /// Whether a logged-in connection is held open for the next run.
    public var connected: Bool

    public init(breaker: Breaker, consecutiveFailures: Int, retryAt: Date?, lastError: String?, connected: Bool) {
        self.breaker = breaker
        self.consecutiveFailures = consecutiveFailures
        self.retryAt = retryAt
        self.lastError = lastError
        self.connected = connected
    }
}

/// What a caller sends to add or change a server; absent fields keep what is stored.
public struct RemoteServerInput: Codable, Sendable, Equatable {
    public var name: String?
    public var host: String?
    public var port: Int?
    public var username: String?
    /// The private key file's text (OpenSSH or PEM). Replaces a password.
    public var privateKey: String?
    public var passphrase: String?
    /// Replaces a private key.
    public var password: String?
    public var tags: [String]?
    /// Pins the key the host offers if its fingerprint is this one (`SHA256:…`).
    public var acceptHostKey: String?
    /// Pins the keys a `known_hosts` file lists for the host (the file's text).
    public var knownHosts: String?

    public init(
        name: String? = nil,
        host: String? = nil,
        port: Int? = nil,
        username: String? = nil,
        privateKey: String? = nil,
        passphrase: String? = nil,
        password: String? = nil,
        tags: [String]? = nil,
        acceptHostKey: String? = nil,
        knownHosts: String? = nil
    ) {
        self.name = name
        self.host = host
        self.port = port
        self.username = username
        self.privateKey = privateKey
        self.passphrase = passphrase
        self.password = password
        self.tags = tags
        self.acceptHostKey = acceptHostKey
        self.knownHosts = knownHosts
    }
}

/// What `check` found: each step's outcome, so the owner sees where it stops.
public struct RemoteServerCheck: Codable, Sendable, Equatable {
    public var reachable: Bool
    public var authenticated: Bool
    /// `cronium-runner version` there, or nil when it is not deployed (or not reached).
    public var runnerVersion: String?
    /// One command's round trip over the logged-in connection.
    public var roundTripMilliseconds: Double?
    public var error: String?

    public init(reachable: Bool, authenticated: Bool, runnerVersion: String?, roundTripMilliseconds: Double?, error: String?) {
        self.reachable = reachable
        self.authenticated = authenticated
        self.runnerVersion = runnerVersion
        self.roundTripMilliseconds = roundTripMilliseconds
        self.error = error
    }
}

/// The key a host offers, found without logging in (`POST /servers/scan`).
public struct HostKeyScan: Codable, Sendable, Equatable {
    public var host: String
    public var port: Int
    public var hostKey: PinnedHostKey

    public init(host: String, port: Int, hostKey: PinnedHostKey) {
        self.host = host
        self.port = port
        self.hostKey = hostKey
    }
}

/// The rules every server follows, wherever it is set.
public enum RemoteServerRules {
    public static let maxNameLength = 64

    /// Each field's problem in a server as it would be stored.
    public static func problems(name: String, host: String, port: Int, username: String, tags: [String]) -> [FieldProblem] {
        var problems: [FieldProblem] = []
        if name.isEmpty || name.count > maxNameLength || !name.allSatisfy({ $0.isLetter || $0.isNumber || "._-".contains($0) }) {
            problems.append(
                .init(field: "name", message: "'\(name)' is not a server name: 1 to \(maxNameLength) letters, digits, '.', '_' or '-' (like web-1)")
            )
        }
        if host.isEmpty || host.count > 253 || host.contains(where: { $0.isWhitespace || "/@".contains($0) }) {
            problems.append(.init(field: "host", message: "'\(host)' is not a host name or address"))
        }
        if !(1...65535).contains(port) { problems.append(.init(field: "port", message: "must be 1 to 65535, not \(port)")) }
        if username.isEmpty || username.count > 64 || username.contains(where: { $0.isWhitespace || "@:/".contains($0) }) {
            problems.append(.init(field: "username", message: "'\(username)' is not a user name"))
        }
        if tags.contains(where: { $0.isEmpty || $0.count > 64 }) {
            problems.append(.init(field: "tags", message: "each tag must be 1 to 64 characters"))
        }
        return problems
    }
}

import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The container engine this server uses: where its socket is, and a client once it answers.
/// A server may start before its engine does; until the engine answers, each use asks again, so
/// container runs fail at once with the reason instead of hanging.
public final class ContainerEngine: Sendable {
    /// The socket, and how it was chosen (for messages); nil path when none was found.
    public let socketPath: String?
    public let source: String
    private let http: HTTPClient
    private let connected = Mutex<DockerClient?>(nil)
    /// The last status and when it was taken: `/ready` may be asked many times a second.
    private let lastStatus = Mutex<(at: ContinuousClock.Instant, available: Bool, detail: String)?>(nil)

    public init(socketPath: String?, source: String, http: HTTPClient = DockerClient.http) {
        self.socketPath = socketPath
        self.source = source
        self.http = http
    }

    /// The client, connecting first if no one has yet.
    public func client() async throws(DockerError) -> DockerClient {
        if let client = connected.withLock({ $0 }) { return client }
        guard let socketPath else { throw DockerError(.unreachable, source) }
        // Checked first: the HTTP client would keep trying to connect until its timeout.
        guard Self.isSocket(socketPath) else {
            throw DockerError(unreachable: socketPath, reason: "no such socket (is the engine installed and started?)")
        }
        let client = try await DockerClient.connect(socketPath: socketPath, http: http)
        connected.withLock { $0 = client }
        return client
    }

    /// What `/ready` reports: available (with the engine's name and version), or why not; asked
    /// of the engine at most every 5 seconds (an engine that stopped is seen within them).
    public func status() async -> (available: Bool, detail: String) {
        if let last = lastStatus.withLock({ $0 }), ContinuousClock.now - last.at < .seconds(5) { return (last.available, last.detail) }
        let status: (available: Bool, detail: String)
        do {
            let client = try await client()
            let ping = try await client.send(.GET, "/_ping", timeout: .seconds(2))
            status =
                ping.status == .ok
                ? (true, "\(client.engine) at \(client.socketPath) (API \(client.apiVersion))")
                : (false, "the container engine at \(client.socketPath) answers \(ping.status.code) to a ping")
        } catch {
            status = (false, error.description)
        }
        lastStatus.withLock { $0 = (ContinuousClock.now, status.available, status.detail) }
        return status
    }

    /// Where to find the engine: `--container-socket`, else `CRONIUM_CONTAINER_SOCKET`, else
    /// `DOCKER_HOST` (unix sockets only), else the first of Docker's and Podman's usual sockets
    /// that exists.
    public static func locate(option: String?, environment: [String: String] = ProcessInfo.processInfo.environment) -> ContainerEngine {
        if let option, !option.isEmpty { return ContainerEngine(socketPath: path(of: option), source: "--container-socket") }
        if let value = environment["CRONIUM_CONTAINER_SOCKET"], !value.isEmpty {
            return ContainerEngine(socketPath: path(of: value), source: "CRONIUM_CONTAINER_SOCKET")
        }
        if let host = environment["DOCKER_HOST"], !host.isEmpty {
            guard host.hasPrefix("unix://") || host.hasPrefix("/") else {
                return ContainerEngine(
                    socketPath: nil,
                    source: "DOCKER_HOST is \(host); Cronium reaches engines through a unix socket only (unix:///path)"
                )
            }
            return ContainerEngine(socketPath: path(of: host), source: "DOCKER_HOST")
        }
        let candidates = usualSockets(environment: environment)
        if let found = candidates.first(where: isSocket) { return ContainerEngine(socketPath: found, source: "found at \(found)") }
        return ContainerEngine(
            socketPath: nil,
            source: "no container engine found (looked for \(candidates.joined(separator: ", "))); install Docker or Podman "
                + "(for Podman: `systemctl enable --now podman.socket`), or give --container-socket"
        )
    }

    static func path(of value: String) -> String {
        value.hasPrefix("unix://") ? String(value.dropFirst("unix://".count)) : value
    }

    static func usualSockets(environment: [String: String]) -> [String] {
        var paths = ["/var/run/docker.sock", "/run/podman/podman.sock"]
        if let runtime = environment["XDG_RUNTIME_DIR"] { paths += ["\(runtime)/podman/podman.sock", "\(runtime)/docker.sock"] }
        if let home = environment["HOME"] { paths.append("\(home)/.docker/run/docker.sock") }
        return paths
    }

    static func isSocket(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFSOCK
    }
}

import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// A small typed client for the Docker Engine API (Docker, and Podman's Docker-compatible
/// service) over its unix socket. It speaks API 1.41, or the engine's oldest version when that is
/// newer; an engine older than 1.41 is refused when the client is made.
public struct DockerClient: Sendable {
    public let socketPath: String
    /// The version in every path (`/v1.41/containers/…`).
    public let apiVersion: String
    /// What the engine says it is ("Podman Engine 4.3.1", "Docker Engine 27.1.1").
    public let engine: String
    let http: HTTPClient

    /// The oldest API this client is written against.
    static let minimumVersion = "1.41"

    /// Pings the engine at `socketPath` and agrees on the API's version. The ping, not
    /// `/version`: Podman gathers its whole state for the latter (half a second, several on a
    /// busy machine), and every engine names its API version and itself in the ping's headers.
    public static func connect(socketPath: String, http: HTTPClient = DockerClient.http) async throws(DockerError) -> DockerClient {
        let probe = DockerClient(socketPath: socketPath, apiVersion: "", engine: "", http: http)
        let ping = try await probe.send(.GET, "/_ping", timeout: .seconds(10))
        try await probe.expect(.ok, ping, doing: "answer a ping")
        guard let version = ping.headers.first(name: "Api-Version") else {
            throw DockerError(.notAnEngine, "what answers at \(socketPath) does not name a Docker API version; is it a Docker or Podman API socket?")
        }
        guard Self.compare(version, Self.minimumVersion) >= 0 else {
            throw DockerError(
                .notAnEngine,
                "the container engine at \(socketPath) speaks API \(version); Cronium needs \(Self.minimumVersion) or newer (Docker 20.10, Podman 3)"
            )
        }
        // "Libpod/4.3.1 (linux)", "Docker/27.1.1 (linux)".
        let server = ping.headers.first(name: "Server")?.split(separator: " ").first.map(String.init) ?? "Docker"
        let parts = server.split(separator: "/", maxSplits: 1).map(String.init)
        let name = parts[0] == "Libpod" ? "Podman" : parts[0]
        return DockerClient(socketPath: socketPath, apiVersion: Self.minimumVersion, engine: "\(name) \(parts.count > 1 ? parts[1] : "")", http: http)
    }

    /// Connections of its own: a run holds two (its logs and its wait) for as long as it runs,
    /// more than the shared client's eight to a host allow for many runs at once. Global, so it
    /// lives as long as the process, as `HTTPClient.shared` does.
    public static let http: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 1024)
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }()

    /// -1, 0 or 1 as `a` is older than, the same as or newer than `b` ("1.41" against "1.9").
    static func compare(_ a: String, _ b: String) -> Int {
        let (x, y) = (a.split(separator: ".").map { Int($0) ?? 0 }, b.split(separator: ".").map { Int($0) ?? 0 })
        for index in 0..<max(x.count, y.count) {
            let (p, q) = (index < x.count ? x[index] : 0, index < y.count ? y[index] : 0)
            if p != q { return p < q ? -1 : 1 }
        }
        return 0
    }

    // MARK: Images

    /// The image's id and labels, or nil when the engine does not have it.
    public func image(_ name: String) async throws(DockerError) -> ImageInfo? {
        let response = try await send(.GET, "/images/\(Self.escaped(name))/json")
        if response.status == .notFound { return nil }
        return try await decode(response)
    }

    /// Imports a root file system from a tar file as `repository:tag`, with Dockerfile-style
    /// `changes` (`LABEL k=v`, `WORKDIR /work`, `ENV PATH=…`). Returns the image's id.
    public func importImage(tarFile: String, repository: String, tag: String, changes: [String]) async throws(DockerError) -> String {
        var query = [("fromSrc", "-"), ("repo", repository), ("tag", tag)]
        query += changes.map { ("changes", $0) }
        let size: Int64
        do {
            size = (try FileManager.default.attributesOfItem(atPath: tarFile)[.size] as? NSNumber)?.int64Value ?? 0
        } catch {
            throw DockerError(.local, "cannot read \(tarFile): \(error.localizedDescription)")
        }
        let chunks: FileChunks
        do { chunks = FileChunks(handle: try FileHandle(forReadingFrom: URL(fileURLWithPath: tarFile))) } catch {
            throw DockerError(.local, "cannot read \(tarFile): \(error.localizedDescription)")
        }
        defer { try? chunks.handle.close() }
        let response = try await send(
            .POST,
            "/images/create",
            query: query,
            body: .stream(chunks, length: .known(size)),
            contentType: "application/x-tar",
            timeout: .minutes(10)
        )
        // A stream of JSON progress messages; the last names the image (or says what went wrong).
        let text = String(buffer: try await Self.collect(response, upTo: 1 << 20))
        guard response.status == .ok else { throw DockerError(status: response.status, body: text, doing: "import \(repository):\(tag)") }
        let last = text.split(separator: "\n").last.map(String.init) ?? ""
        let message = try? JSONDecoder().decode(ProgressMessage.self, from: Data(last.utf8))
        if let error = message?.error ?? message?.errorDetail?.message {
            throw DockerError(.refused, "import of \(repository):\(tag) failed: \(error)")
        }
        guard let id = message?.id ?? message?.status, id.hasPrefix("sha256:") else {
            throw DockerError(.refused, "import of \(repository):\(tag) ended without an image id: \(last)")
        }
        // Podman's compatible import names the image `latest` whatever `tag` says: name it as
        // asked, and take back the `latest` it gave (only if it is this image's).
        try await tagImage(id, repository: repository, tag: tag)
        if tag != "latest", try await image("\(repository):latest")?.id == id { try await removeImage("\(repository):latest") }
        return id
    }

    public func tagImage(_ image: String, repository: String, tag: String) async throws(DockerError) {
        // Podman takes an id without its `sha256:` prefix only.
        let image = image.hasPrefix("sha256:") ? String(image.dropFirst("sha256:".count)) : image
        try await expect(
            .created,
            try await send(.POST, "/images/\(Self.escaped(image))/tag", query: [("repo", repository), ("tag", tag)]),
            doing: "tag \(image)"
        )
    }

    public func removeImage(_ name: String) async throws(DockerError) {
        let response = try await send(.DELETE, "/images/\(Self.escaped(name))")
        if response.status == .notFound { return }
        try await expect(.ok, response, doing: "remove image \(name)")
    }

    // MARK: Containers

    /// Creates a container; returns its id. A missing image is a ``DockerError`` with
    /// the code `noSuchImage`, for the caller to explain.
    public func createContainer(_ spec: ContainerSpec, name: String) async throws(DockerError) -> String {
        let body: Data
        do { body = try JSONEncoder().encode(spec) } catch { throw DockerError(.local, "cannot encode the container: \(error)") }
        let response = try await send(
            .POST,
            "/containers/create",
            query: [("name", name)],
            body: .bytes(ByteBuffer(bytes: body)),
            contentType: "application/json"
        )
        guard response.status == .created else {
            var error = DockerError(
                status: response.status,
                body: String(buffer: try await Self.collect(response, upTo: 64 << 10)),
                doing: "create a container of \(spec.image)"
            )
            if response.status == .notFound { error.code = .noSuchImage }
            throw error
        }
        let created: CreatedContainer = try await decode(response)
        return created.id
    }

    public func startContainer(_ id: String) async throws(DockerError) {
        let response = try await send(.POST, "/containers/\(id)/start")
        if response.status == .notModified { return }
        try await expect(.noContent, response, doing: "start the container")
    }

    /// Waits until the container stops; returns its exit status.
    public func waitContainer(_ id: String) async throws(DockerError) -> Int {
        let response = try await send(.POST, "/containers/\(id)/wait", timeout: .hours(24 * 365))
        let result: WaitResult = try await decode(response)
        return result.statusCode
    }

    /// Sends `signal` (a name such as `TERM`) to the container's main process.
    public func killContainer(_ id: String, signal: String = "KILL") async throws(DockerError) {
        let response = try await send(.POST, "/containers/\(id)/kill", query: [("signal", signal)])
        // Not running (409) or gone (404): nothing left to kill.
        if [.conflict, .notFound, .notModified].contains(response.status) { return }
        try await expect(.noContent, response, doing: "kill the container")
    }

    /// Removes the container, killing it first if it runs, with its anonymous volumes.
    public func removeContainer(_ id: String) async throws(DockerError) {
        let response = try await send(.DELETE, "/containers/\(id)", query: [("force", "1"), ("v", "1")])
        if response.status == .notFound { return }
        try await expect(.noContent, response, doing: "remove the container")
    }

    public func inspectContainer(_ id: String) async throws(DockerError) -> ContainerDetails {
        try await decode(try await send(.GET, "/containers/\(id)/json"))
    }

    /// Every container, running or not, carrying `label` (`key` or `key=value`).
    public func containers(label: String) async throws(DockerError) -> [ContainerSummary] {
        let filters = #"{"label":["\#(label)"]}"#
        return try await decode(try await send(.GET, "/containers/json", query: [("all", "1"), ("filters", filters)]))
    }

    // MARK: Transport

    enum Timeout {
        static let request: TimeAmount = .seconds(60)
    }

    func send(
        _ method: HTTPMethod,
        _ path: String,
        query: [(String, String)] = [],
        body: HTTPClientRequest.Body? = nil,
        contentType: String? = nil,
        timeout: TimeAmount = Timeout.request
    ) async throws(DockerError) -> HTTPClientResponse {
        var components = URLComponents()
        components.path = (apiVersion.isEmpty ? "" : "/v\(apiVersion)") + path
        if !query.isEmpty { components.queryItems = query.map { URLQueryItem(name: $0.0, value: $0.1) } }
        // `+` in a query is a space to Go's parser: it must travel encoded.
        let uri =
            (components.percentEncodedPath.isEmpty ? "/" : components.percentEncodedPath)
            + (components.percentEncodedQuery.map { "?" + $0.replacingOccurrences(of: "+", with: "%2B") } ?? "")
        guard let url = URL(httpURLWithSocketPath: socketPath, uri: uri) else {
            throw DockerError(.local, "\(socketPath) is not a usable socket path")
        }
        var request = HTTPClientRequest(url: url.absoluteString)
        request.method = method
        if let body { request.body = body }
        // Over a unix socket there is no host name to send, and Go's servers refuse a request without one.
        request.headers.add(name: "Host", value: "docker")
        if let contentType { request.headers.add(name: "Content-Type", value: contentType) }
        do {
            return try await http.execute(request, timeout: timeout)
        } catch {
            throw DockerError(unreachable: socketPath, error)
        }
    }

    func expect(_ status: HTTPResponseStatus, _ response: HTTPClientResponse, doing what: String) async throws(DockerError) {
        guard response.status != status else { return }
        throw DockerError(status: response.status, body: String(buffer: try await Self.collect(response, upTo: 64 << 10)), doing: what)
    }

    func decode<T: Decodable>(_ response: HTTPClientResponse) async throws(DockerError) -> T {
        let body = try await Self.collect(response, upTo: 16 << 20)
        guard (200..<300).contains(response.status.code) else {
            throw DockerError(status: response.status, body: String(buffer: body), doing: "answer")
        }
        do {
            return try JSONDecoder().decode(T.self, from: Data(body.readableBytesView))
        } catch {
            throw DockerError(.badAnswer, "the container engine answered what Cronium cannot read (\(T.self)): \(error)")
        }
    }

    static func collect(_ response: HTTPClientResponse, upTo limit: Int) async throws(DockerError) -> ByteBuffer {
        do { return try await response.body.collect(upTo: limit) } catch {
            throw DockerError(.badAnswer, "reading the container engine's answer failed: \(error)")
        }
    }

    /// A name or id as one path segment (`cronium/runner:python` keeps its slash: the API wants it).
    static func escaped(_ name: String) -> String {
        name.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? name
    }
}

/// A file read a MiB at a time as the request body asks for it, not all at once.
struct FileChunks: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let handle: FileHandle

    struct AsyncIterator: AsyncIteratorProtocol {
        let handle: FileHandle
        mutating func next() async throws -> ByteBuffer? {
            guard let data = try handle.read(upToCount: 1 << 20), !data.isEmpty else { return nil }
            return ByteBuffer(bytes: data)
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(handle: handle) }
}

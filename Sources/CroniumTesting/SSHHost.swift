import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A real OpenSSH server for tests: its own configuration, host key and authorized key, on
/// loopback or in a network namespace of its own (a host at another address, reached through a
/// veth pair), logging in the test user that `scripts/test.sh` creates. `AllowTcpForwarding no`,
/// as on the locked-down hosts Cronium must work with.
public final class SSHHost: @unchecked Sendable {
    /// The account tests log in as (created by scripts/test.sh).
    public static let user = "cronium-ssh"
    public let host: String
    public let port: Int
    public let directory: TemporaryDirectory
    /// The private key (OpenSSH format) that the host accepts for ``user``.
    public let clientKey: String
    /// The host's public key line (`ssh-ed25519 AAAA…`).
    public let hostKey: String
    /// The network namespace sshd runs in, if it has one of its own.
    public let namespace: String?
    /// The listening sshd's pid; guarded by `lock`.
    private var daemon: pid_t?
    private let lock = NSLock()

    /// Starts sshd and waits until it accepts connections: on a free loopback port, or with
    /// `ownNetwork` in a new network namespace, on port 22 of an address of its own.
    public static func start(hostKeyType: String = "ed25519", ownNetwork: Bool = false) async throws -> SSHHost {
        guard getpwnam(user) != nil else {
            throw TestSetupError("user \(user) does not exist: run the tests through scripts/test.sh, which creates it")
        }
        // sshd refuses every login of a locked account (no password yet), keys too.
        try await passwordSet.value
        let directory = try TemporaryDirectory("cronium-sshd")
        chmod(directory.path, 0o755)
        try await shell(
            "ssh-keygen -q -t \(hostKeyType) -N '' -f \(directory.appending("host_key")) && ssh-keygen -q -t ed25519 -N '' -C cronium-test -f \(directory.appending("client_key"))"
        )
        try FileManager.default.copyItem(atPath: directory.appending("client_key.pub"), toPath: directory.appending("authorized_keys"))
        chmod(directory.appending("authorized_keys"), 0o644)
        let (namespace, address, port) = ownNetwork ? try await makeNamespace() : (nil, "127.0.0.1", try freePort())
        try """
        Port \(port)
        ListenAddress \(address)
        HostKey \(directory.appending("host_key"))
        PidFile none
        AuthorizedKeysFile \(directory.appending("authorized_keys"))
        AllowTcpForwarding no
        AllowStreamLocalForwarding no
        X11Forwarding no
        PermitRootLogin no
        PasswordAuthentication yes
        StrictModes no
        KbdInteractiveAuthentication no
        UsePAM no
        MaxSessions 100
        MaxStartups 100
        LogLevel ERROR

        """.write(toFile: directory.appending("sshd_config"), atomically: true, encoding: .utf8)
        try FileManager.default.createDirectory(atPath: "/run/sshd", withIntermediateDirectories: true)
        let host = SSHHost(
            host: address,
            port: port,
            namespace: namespace,
            directory: directory,
            clientKey: try String(contentsOfFile: directory.appending("client_key"), encoding: .utf8),
            hostKey: try String(contentsOfFile: directory.appending("host_key.pub"), encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        )
        do {
            try await host.resume()
        } catch {
            host.stop()
            throw error
        }
        return host
    }

    private init(host: String, port: Int, namespace: String?, directory: TemporaryDirectory, clientKey: String, hostKey: String) {
        self.host = host
        self.port = port
        self.namespace = namespace
        self.directory = directory
        self.clientKey = clientKey
        self.hostKey = hostKey
    }

    /// Starts sshd again after ``pause()``, with the same port and keys.
    public func resume() async throws {
        // `ip netns exec` enters the namespace and becomes sshd: the pid is the listener's.
        let inNamespace = namespace.map { ["/usr/sbin/ip", "netns", "exec", $0] } ?? []
        let pid = try spawn(
            inNamespace + ["/usr/sbin/sshd", "-D", "-e", "-f", directory.appending("sshd_config")],
            output: directory.appending("sshd.log")
        )
        lock.withLock { daemon = pid }
        guard try await eventually(timeout: .seconds(10), { [host, port] in canConnect(host: host, port: port) }) else {
            throw TestSetupError(
                "sshd did not start listening on \(host):\(port): \((try? String(contentsOfFile: directory.appending("sshd.log"), encoding: .utf8)) ?? "")"
            )
        }
    }

    /// Stops sshd and every session it serves: connections to it break, new ones are refused.
    public func pause() {
        guard let pid = lock.withLock({ daemon.take() }) else { return }
        // Each connection has a process of its own under the listener; it must go too
        // (after login the connection is served by a grandchild, the user's own sshd process).
        var tree = childPIDs(of: pid)
        var index = 0
        while index < tree.count {
            tree += childPIDs(of: tree[index])
            index += 1
        }
        for child in tree { kill(child, SIGKILL) }
        kill(pid, SIGTERM)
        _ = waitForExit(pid)
    }

    /// Breaks every connection to the host as a crash of its sshd sessions would: the session
    /// processes die, what they started lives on (and sees its input end), the listener stays.
    public func dropConnections() {
        guard let pid = lock.withLock({ daemon }) else { return }
        var tree = childPIDs(of: pid)
        var index = 0
        while index < tree.count {
            tree += childPIDs(of: tree[index])
            index += 1
        }
        for child in tree where (try? String(contentsOfFile: "/proc/\(child)/comm", encoding: .utf8))?.hasPrefix("sshd") == true {
            kill(child, SIGKILL)
        }
    }

    /// Stops sshd (and with it the sessions it serves) and removes its files and namespace.
    public func stop() {
        pause()
        directory.remove()
        if let namespace { Self.removeNamespace(namespace) }
    }

    /// Hosts in namespaces get 10.231.<n>.2, the test process's end of their veth pair 10.231.<n>.1.
    private static let namespaces = NamespaceCounter()

    private final class NamespaceCounter: @unchecked Sendable {
        private var next = 0
        private let lock = NSLock()
        func take() -> Int {
            lock.withLock {
                next += 1; return next
            }
        }
    }

    /// A network namespace with a veth pair to this one, named after this process so that one
    /// left by a test process that died is known and removed.
    private static func makeNamespace() async throws -> (String, String, Int) {
        await leftoversRemoved.value
        let number = namespaces.take()
        // A subnet per test process and host: two test processes at once do not collide.
        let subnet = "10.\(200 + Int(getpid()) % 50).\(number)"
        let name = "cronium-t\(getpid())-\(number)"
        let link = "vcr\(getpid() % 100_000)x\(number)"
        try await shell(
            """
            ip netns add \(name) && ip link add \(link) type veth peer name eth0 netns \(name) \
            && ip addr add \(subnet).1/30 dev \(link) && ip link set \(link) up \
            && ip netns exec \(name) sh -c 'ip addr add \(subnet).2/30 dev eth0 && ip link set eth0 up && ip link set lo up'
            """
        )
        return (name, "\(subnet).2", 22)
    }

    private static func removeNamespace(_ name: String) {
        // Removing the namespace removes its end of the veth pair, and with it the other end.
        if let pid = try? spawn(["/usr/sbin/ip", "netns", "delete", name], output: "/dev/null") { _ = waitForExit(pid) }
    }

    /// Namespaces of test processes that are gone.
    private static let leftoversRemoved = Task {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "/run/netns")) ?? []
        for name in names where name.hasPrefix("cronium-t") {
            guard let pid = name.dropFirst("cronium-t".count).split(separator: "-").first.flatMap({ Int32($0) }), kill(pid, 0) != 0 else { continue }
            removeNamespace(name)
        }
    }

    /// The test user's password: a new random one for each test process, set by the first start.
    public static let password = "pw-" + UUID().uuidString
    private static let passwordSet = Task { try await shell("echo '\(user):\(password)' | chpasswd") }
}

public struct TestSetupError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Runs `command` with bash, off the cooperative pool; throws with its output when it fails.
@discardableResult
public func shell(_ command: String) async throws -> String {
    try await offThePool { try shellBlocking(command) }
}

/// Runs `body`, which blocks (it waits for a process), on a thread of its own: on the two threads
/// of the cooperative pool it would hold up every in-process server of the suite.
public func offThePool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread { continuation.resume(with: Result { try body() }) }
    }
}

/// The output goes through a file, not a pipe, and the process is not Foundation's (see ``spawn(_:output:)``).
private func shellBlocking(_ command: String) throws -> String {
    let file = NSTemporaryDirectory() + "/cronium-shell-\(UUID().uuidString)"
    defer { unlink(file) }
    let status = waitForExit(try spawn(["/bin/bash", "-c", command], output: file))
    let output = (try? String(contentsOfFile: file, encoding: .utf8)) ?? ""
    guard status == 0 else { throw TestSetupError("`\(command)` failed (\(status)): \(output)") }
    return output
}

/// A loopback TCP port nothing listens on now.
public func freePort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
    }
    guard bound else { throw TestSetupError("cannot find a free port: \(String(cString: strerror(errno)))") }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// The processes whose parent is `pid`.
func childPIDs(of pid: Int32) -> [Int32] {
    ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap { entry -> Int32? in
        guard let child = Int32(entry), let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
            let end = stat.lastIndex(of: ")")
        else { return nil }
        // After "pid (comm)": the state, then the parent's pid.
        let fields = stat[stat.index(after: end)...].split(separator: " ")
        return fields.count > 1 && Int32(fields[1]) == pid ? child : nil
    }
}

/// Whether something accepts TCP connections on `host` (an IPv4 address) and `port`.
func canConnect(host: String = "127.0.0.1", port: Int) -> Bool {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr(host)
    address.sin_port = UInt16(port).bigEndian
    return withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
    }
}

import CroniumEngine
import Foundation
import Logging
import ServiceLifecycle

#if canImport(Glibc)
    import Glibc
#endif

/// systemd's notification protocol (`sd_notify(3)`), for a server run as a `Type=notify`
/// service: `READY=1` once it listens, `STOPPING=1` when a stop begins, and `WATCHDOG=1` at half
/// the unit's `WatchdogSec` while the database answers, so that systemd restarts a server that
/// hangs. Each message is one datagram to `NOTIFY_SOCKET`; without that variable (not under
/// systemd) nothing is sent.
struct SystemdNotifier: Sendable {
    /// `NOTIFY_SOCKET`: a path, or an abstract socket's name after `@`.
    let socket: String?
    /// Half of `WATCHDOG_USEC`, when the watchdog is on for this process.
    let watchdogInterval: Duration?

    init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        socket = environment["NOTIFY_SOCKET"].flatMap { $0.isEmpty ? nil : $0 }
        let forUs = environment["WATCHDOG_PID"].map { Int32($0) == getpid() } ?? true
        if forUs, let text = environment["WATCHDOG_USEC"], let microseconds = Int64(text), microseconds > 0 {
            watchdogInterval = .microseconds(microseconds / 2)
        } else {
            watchdogInterval = nil
        }
    }

    /// Sends `state` (`KEY=value` lines); false when there is no socket or it refused.
    @discardableResult
    func send(_ state: String) -> Bool {
        guard let socket else { return false }
        let fd = Glibc.socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        var path = Array(socket.utf8)
        if path.first == UInt8(ascii: "@") { path[0] = 0 }
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard path.count < capacity else { return false }
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            for (index, byte) in path.enumerated() { buffer[index] = byte }
        }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + path.count + (path.first == 0 ? 0 : 1))
        let bytes = Array(state.utf8)
        let sent = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(fd, bytes, bytes.count, Int32(MSG_NOSIGNAL), $0, length) }
        }
        return sent == bytes.count
    }
}

/// The watchdog's pings and the `STOPPING=1` of a graceful stop, as a service of the
/// application: the last of its services, so that it hears of a stop first.
struct SystemdWatchdog: Service {
    let notifier: SystemdNotifier
    let node: EngineNode
    let logger: Logger

    func run() async throws {
        await withGracefulShutdownHandler {
            guard let interval = notifier.watchdogInterval else {
                // Nothing to ping; still here to say STOPPING=1.
                try? await gracefulShutdown()
                return
            }
            while !Task.isShuttingDownGracefully && !Task.isCancelled {
                if await node.databaseAnswers() {
                    notifier.send("WATCHDOG=1")
                } else {
                    // No ping: if it does not answer within WatchdogSec, systemd restarts the server.
                    logger.warning("the database does not answer; withholding systemd's watchdog ping")
                }
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            }
        } onGracefulShutdown: {
            notifier.send("STOPPING=1\nSTATUS=stopping: letting running runs finish")
        }
    }
}

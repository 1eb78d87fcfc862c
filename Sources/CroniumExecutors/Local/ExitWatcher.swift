import CCroniumSystem
import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Tells runs when their process has exited, for every run of the server from one thread that
/// waits on a pidfd per process: a run neither polls nor holds a thread while its script runs.
final class ExitWatcher: Sendable {
    static let shared = ExitWatcher()

    private let epoll: Int32
    private let waiting = Mutex<[Int32: CheckedContinuation<Bool, Never>]>([:])

    private init() {
        epoll = cronium_epoll_create()
        guard epoll >= 0 else { return }
        let thread = Thread { [self] in self.loop() }
        thread.name = "cronium-exits"
        thread.start()
    }

    /// Returns once the child `pid` has exited (it is left to be reaped). Not cancellable: a run
    /// that must end is killed, and then this returns.
    func exit(of pid: pid_t) async {
        let pidfd = epoll >= 0 ? cronium_pidfd_open(pid) : -1
        guard pidfd >= 0 else { return await poll(pid) }
        let watched = await withCheckedContinuation { continuation in
            waiting.withLock { $0[pidfd] = continuation }
            if cronium_epoll_watch_once(epoll, pidfd) != 0 {
                waiting.withLock { $0.removeValue(forKey: pidfd) }?.resume(returning: false)
            }
        }
        close(pidfd)
        if !watched { await poll(pid) }
    }

    /// Looks every few milliseconds: a kernel before 5.3 has no pidfds.
    private func poll(_ pid: pid_t) async {
        while cronium_has_exited(pid) == 0 { try? await Task.sleep(for: .milliseconds(5)) }
    }

    private func loop() {
        var ready = [Int32](repeating: -1, count: 64)
        while true {
            let count = Int(cronium_epoll_ready(epoll, &ready, Int32(ready.count)))
            for fd in ready.prefix(max(count, 0)) {
                waiting.withLock { $0.removeValue(forKey: fd) }?.resume(returning: true)
            }
        }
    }
}

import CCroniumSystem
import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Tells runs when their process has exited, for every run of one local executor from one thread
/// that waits on a pidfd per process: a run neither polls nor holds a thread while its script
/// runs. The thread starts with the first run and ends with ``stop()`` (the executor's
/// `shutDown`), or when the watcher is released.
final class ExitWatcher: Sendable {
    /// What the thread shares with the runs; the thread holds this, not the watcher, so that a
    /// watcher nobody uses any more is released and stops its thread.
    private final class Watch: Sendable {
        let epoll: Int32
        /// Readable once the thread is to end.
        let stopping: Int32
        /// The runs waiting, by pidfd; closed once the thread has ended.
        private let state = Mutex<(waiting: [Int32: CheckedContinuation<Bool, Never>], closed: Bool)>(([:], false))

        init() {
            epoll = cronium_epoll_create()
            stopping = epoll >= 0 ? cronium_wakeup_create() : -1
            if stopping >= 0 { _ = cronium_epoll_watch_once(epoll, stopping) }
        }

        var closed: Bool { state.withLock { $0.closed } }

        /// For a watcher whose thread never started.
        func closeUnused() {
            state.withLock { state in
                guard !state.closed else { return }
                state.closed = true
                if stopping >= 0 { close(stopping) }
                if epoll >= 0 { close(epoll) }
            }
        }

        /// Resumes `continuation` with true when `pidfd` is readable, or at once with false when it
        /// cannot be watched (the thread has ended).
        func watch(_ pidfd: Int32, _ continuation: CheckedContinuation<Bool, Never>) {
            let watched = state.withLock { state in
                guard !state.closed else { return false }
                state.waiting[pidfd] = continuation
                guard cronium_epoll_watch_once(epoll, pidfd) == 0 else {
                    state.waiting[pidfd] = nil
                    return false
                }
                return true
            }
            if !watched { continuation.resume(returning: false) }
        }

        func loop() {
            var ready = [Int32](repeating: -1, count: 64)
            while true {
                let count = Int(cronium_epoll_ready(epoll, &ready, Int32(ready.count)))
                for fd in ready.prefix(max(count, 0)) {
                    if fd == stopping {
                        // Runs still waiting (none, when the executor has shut down) look for themselves.
                        let left = state.withLock { state in
                            defer { state = ([:], true) }
                            close(stopping)
                            close(epoll)
                            return Array(state.waiting.values)
                        }
                        for waiter in left { waiter.resume(returning: false) }
                        return
                    }
                    state.withLock { $0.waiting.removeValue(forKey: fd) }?.resume(returning: true)
                }
            }
        }
    }

    private enum Thread { case notStarted, running, stopped }

    private let watch = Watch()
    private let thread = Mutex(Thread.notStarted)

    init() {}

    deinit { stop() }

    /// Whether the thread has ended (or never started and never will).
    var hasEnded: Bool { thread.withLock { $0 == .stopped } && (watch.closed || watch.epoll < 0) }

    /// Ends the thread for good; runs that wait after this look every few milliseconds instead.
    func stop() {
        let was = thread.withLock { thread in
            defer { thread = .stopped }
            return thread
        }
        switch was {
        // The thread closes the descriptors as it ends.
        case .running: _ = cronium_wakeup(watch.stopping)
        case .notStarted: watch.closeUnused()
        case .stopped: break
        }
    }

    /// Returns once the child `pid` has exited (it is left to be reaped). Not cancellable: a run
    /// that must end is killed, and then this returns.
    func exit(of pid: pid_t) async {
        let watch = self.watch
        let running =
            watch.stopping >= 0
            && thread.withLock { thread in
                if thread == .notStarted {
                    thread = .running
                    let loop = Foundation.Thread { watch.loop() }
                    loop.name = "cronium-exits"
                    loop.start()
                }
                return thread == .running
            }
        let pidfd = running ? cronium_pidfd_open(pid) : -1
        guard pidfd >= 0 else { return await poll(pid) }
        let watched = await withCheckedContinuation { watch.watch(pidfd, $0) }
        close(pidfd)
        if !watched { await poll(pid) }
    }

    /// Looks every few milliseconds: a kernel before 5.3 has no pidfds.
    private func poll(_ pid: pid_t) async {
        while cronium_has_exited(pid) == 0 { try? await Task.sleep(for: .milliseconds(5)) }
    }
}

import Foundation

/// A thread of its own that runs the store's SQLite work, as a task executor.
///
/// A transaction's body runs here (`withTaskExecutorPreference`), each statement synchronously: one
/// switch of threads into a transaction and one out, instead of three per statement through a
/// thread pool. SQLite's blocking (a checkpoint's fsync, a large write) stays off Swift's
/// cooperative threads, which are as many as the cores and run everything else.
///
/// Two live as long as the process, one for writes and one for reads, shared by every open
/// database (a server has one; tests open many). Their names (at most 15 bytes, the kernel's
/// limit) show in `top -H` and `perf`.
final class SQLiteThread: TaskExecutor, @unchecked Sendable {
    static let writer = SQLiteThread(name: "sqlite-writer")
    static let reader = SQLiteThread(name: "sqlite-reader")

    private let condition = NSCondition()
    /// Guarded by `condition`.
    private var jobs: [UnownedJob] = []

    private init(name: String) {
        let thread = Thread {
            // Named from inside: on Linux a thread starts with its creator's name (a pool
            // thread's), and `Thread.name` set before the start does not reach the kernel, so
            // `top -H` would show the SQLite threads under a name that is not theirs.
            try? name.write(toFile: "/proc/thread-self/comm", atomically: false, encoding: .utf8)
            self.loop()
        }
        thread.start()
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        condition.lock()
        jobs.append(job)
        condition.signal()
        condition.unlock()
    }

    private func loop() {
        var batch: [UnownedJob] = []
        while true {
            condition.lock()
            while jobs.isEmpty { condition.wait() }
            swap(&batch, &jobs)
            condition.unlock()
            for job in batch { job.runSynchronously(on: asUnownedTaskExecutor()) }
            batch.removeAll(keepingCapacity: true)
        }
    }
}

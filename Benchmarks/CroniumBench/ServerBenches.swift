import CroniumCore
import CroniumStore
import Foundation
import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// A6 and A7: the real `cronium serve` binary (the one built beside this benchmark), started as a
/// child process on a prepared data directory.
struct ServerBenches {
    let binary: String
    let coldStarts: Int

    /// Idle resident memory after start-up, with `schedules` daily cron events in the database.
    func idleRSS(schedules: Int) async throws -> BenchResult {
        let data = try await dataDirectory(schedules: schedules)
        defer { try? FileManager.default.removeItem(atPath: data) }
        let server = try await start(data: data)
        defer { server.stop() }
        // Let start-up garbage settle and the scheduler go idle before reading.
        try await Task.sleep(for: .seconds(3))
        let memory = try residentMemory(pid: server.pid)
        let mb = Double(memory.total) / 1024
        return BenchResult(
            id: "A6",
            metric: "idle RSS with \(schedules) schedules",
            value: mb,
            unit: "MB",
            target: schedules == 0 ? "≤ 30 MB" : "≤ 40 MB",
            pass: mb <= (schedules == 0 ? 30 : 40),
            detail:
                "\(schedules) schedules: \(format(Double(memory.anonymous) / 1024)) MB anonymous (the process's own), \(format(Double(memory.file) / 1024)) MB file-backed (binary and shared libraries)"
        )
    }

    /// Start of the process to the first 200 from `/ready`, on a data directory that exists
    /// (the usual restart) and, once, on an empty one (first start: migrations, admin, bcrypt).
    func coldStart() async throws -> [BenchResult] {
        let data = NSTemporaryDirectory() + "cronium-bench-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: data) }
        let first = try await start(data: data)
        first.stop()
        var restarts: [Double] = []
        for _ in 0..<coldStarts {
            let server = try await start(data: data)
            restarts.append(server.readyAfter)
            server.stop()
        }
        let summary = Summary(restarts)
        return [
            BenchResult(
                id: "A7",
                metric: "cold start to /ready (existing data)",
                value: summary.p50,
                unit: "ms",
                target: "≤ 60 ms",
                pass: summary.p50 <= 60,
                detail:
                    "restart p50 \(format(summary.p50)) max \(format(summary.max)) ms over \(coldStarts) starts; first start on an empty directory \(format(first.readyAfter)) ms"
            )
        ]
    }

    struct RunningServer {
        let pid: pid_t
        let port: Int
        let data: String
        let readyAfter: Double

        func stop() { RawSpawn.stop(pid) }
    }

    private func start(data: String) async throws -> RunningServer {
        try await Self.start(binary: binary, data: data)
    }

    /// `cronium serve` on `data` (a fresh directory when nil) on a free port, once `/ready` answers.
    static func start(binary: String, data: String? = nil, extra: [String] = []) async throws -> RunningServer {
        let data = data ?? NSTemporaryDirectory() + "cronium-bench-\(UUID().uuidString.prefix(8))"
        let port = freePort()
        let started = ContinuousClock.now
        let pid = RawSpawn.start([binary, "serve", "--data-dir", data, "--port", String(port), "--log-level", "error"] + extra)
        let deadline = started + .seconds(30)
        while ContinuousClock.now < deadline {
            if httpGetIsOK(port: port, path: "/ready") {
                return RunningServer(pid: pid, port: port, data: data, readyAfter: milliseconds(ContinuousClock.now - started))
            }
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid { throw BenchError("\(binary) serve exited early (status \(status))") }
            try await Task.sleep(for: .microseconds(500))
        }
        RawSpawn.stop(pid)
        throw BenchError("\(binary) serve was not ready within 30 s")
    }

    /// A data directory whose database holds `schedules` active events on a daily cron, so the
    /// scheduler carries them all while nothing fires.
    private func dataDirectory(schedules: Int) async throws -> String { try await Self.dataDirectory(schedules: schedules) }

    static func dataDirectory(schedules: Int) async throws -> String {
        let data = NSTemporaryDirectory() + "cronium-bench-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        let store = try await Database.openSQLite(path: "\(data)/cronium.sqlite", logger: quietLogger())
        let owner = try await store.insertUser(username: "bench", passwordHash: "-", role: .admin, now: Date())
        for index in 0..<schedules {
            let input = benchEventInput(
                name: "nightly \(index)",
                script: "echo nightly \(index)",
                schedule: .cron("\(index % 60) 3 * * *", timeZone: "Europe/Berlin")
            )
            _ = try await store.insertEvent(try Event.create(from: input, ownerId: owner.id, now: Date()))
        }
        try await store.shutdown()
        return data
    }

    /// VmRSS and its split: anonymous pages are the process's own memory; file-backed pages are
    /// the binary and shared libraries, shared with other processes and reclaimable.
    private func residentMemory(pid: Int32) throws -> (total: Int, anonymous: Int, file: Int) {
        let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        func kib(_ field: String) throws -> Int {
            guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix(field + ":") }),
                let value = line.split(separator: " ").dropFirst().first.flatMap({ Int($0) })
            else { throw BenchError("no \(field) in /proc/\(pid)/status") }
            return value
        }
        return (try kib("VmRSS"), try kib("RssAnon"), try kib("RssFile"))
    }
}

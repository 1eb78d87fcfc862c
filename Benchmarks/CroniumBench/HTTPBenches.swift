import AsyncHTTPClient
import CroniumCore
import Foundation
import NIOCore
import NIOHTTP1
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A12 and A13: the real `cronium serve` binary, driven over HTTP as users drive it, and left
/// alone to see what it costs when nothing is due.
struct HTTPBenches {
    let binary: String
    let requests: Int
    let clients: Int
    let idleSeconds: Int

    /// A12: `POST /api/v1/events/{id}/run` of a `true` script, `requests` times from `clients`
    /// concurrent clients: the response times while runs execute, and the runs per second until
    /// the last is recorded finished (unsandboxed, as A4 plain, so the two compare).
    func runNow() async throws -> [BenchResult] {
        let server = try await ServerBenches.start(binary: binary, extra: ["--sandbox", "off", "--max-concurrent-runs", "16"])
        defer { server.stop() }
        let token = try String(contentsOfFile: "\(server.data)/initial-admin-token", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let base = "http://127.0.0.1:\(server.port)"
        let created = try await send(.POST, "\(base)/api/v1/events", token: token, body: #"{"name":"bench","type":"BASH","content":"true"}"#)
        guard let event = try? JSONDecoder().decode(IDOnly.self, from: created) else { throw BenchError("could not create the event") }
        let latencies = SampleSink()
        let started = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for client in 0..<clients {
                group.addTask {
                    for _ in stride(from: client, to: requests, by: clients) {
                        let asked = ContinuousClock.now
                        _ = try await send(.POST, "\(base)/api/v1/events/\(event.id)/run", token: token)
                        let took = milliseconds(ContinuousClock.now - asked)
                        latencies.add(took)
                    }
                }
            }
            try await group.waitForAll()
        }
        while try await finishedRuns(base, token: token) < requests {
            try await Task.sleep(for: .milliseconds(5))
        }
        let elapsed = milliseconds(ContinuousClock.now - started) / 1000
        let latency = Summary(latencies.values)
        let rate = Double(requests) / elapsed
        return [
            BenchResult(
                id: "A12",
                metric: "POST …/run response p50 while runs execute (\(clients) clients)",
                value: latency.p50,
                unit: "ms",
                target: "≤ 1 ms",
                pass: latency.p50 <= 1,
                detail: "p50 \(format(latency.p50)) p99 \(format(latency.p99)) max \(format(latency.max)) ms over \(latency.count) requests"
            ),
            BenchResult(
                id: "A12b",
                metric: "run-now over HTTP, runs/s until the last is recorded finished",
                value: rate,
                unit: "runs/s",
                target: "≥ 70 % of A4 plain",
                detail: "\(requests) runs of `true` from \(clients) clients in \(format(elapsed)) s"
            ),
        ]
    }

    /// A13: CPU the idle server uses over `idleSeconds`, with 0 and with 10,000 daily schedules,
    /// and how often its threads woke.
    func idleCPU(schedules: Int) async throws -> BenchResult {
        let data = try await ServerBenches.dataDirectory(schedules: schedules)
        let server = try await ServerBenches.start(binary: binary, data: data)
        defer { server.stop() }
        try await Task.sleep(for: .seconds(3))
        let before = try usage(server.pid)
        try await Task.sleep(for: .seconds(idleSeconds))
        let after = try usage(server.pid)
        let ticksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))
        let percent = Double(after.ticks - before.ticks) / ticksPerSecond / Double(idleSeconds) * 100
        let wakeUps = Double(after.switches - before.switches) / Double(idleSeconds)
        return BenchResult(
            id: "A13",
            metric: "idle CPU with \(schedules) schedules",
            value: percent,
            unit: "% of a core",
            target: "≤ 0.05 %",
            pass: percent <= 0.05,
            detail:
                "\(schedules) schedules over \(idleSeconds) s: \(format(percent)) % of a core, \(format(wakeUps)) context switches per second over all threads"
        )
    }

    private struct IDOnly: Decodable { let id: Int64 }

    /// User plus system time in clock ticks, and context switches summed over every thread.
    private func usage(_ pid: pid_t) throws -> (ticks: Int, switches: Int) {
        let stat = try String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)
        guard let afterName = stat.lastIndex(of: ")") else { throw BenchError("unreadable /proc/\(pid)/stat") }
        let fields = stat[stat.index(after: afterName)...].split(separator: " ")
        let ticks = (Int(fields[11]) ?? 0) + (Int(fields[12]) ?? 0)
        var switches = 0
        for task in (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? [] {
            let status = (try? String(contentsOfFile: "/proc/\(pid)/task/\(task)/status", encoding: .utf8)) ?? ""
            for line in status.split(separator: "\n") where line.contains("ctxt_switches") {
                switches += Int(line.split(separator: "\t").last ?? "") ?? 0
            }
        }
        return (ticks, switches)
    }

    private func finishedRuns(_ base: String, token: String) async throws -> Int {
        let text = String(decoding: try await send(.GET, "\(base)/metrics", token: token), as: UTF8.self)
        let prefix = #"cronium_runs_finished_total{type="BASH",status="SUCCESS"} "#
        return text.split(separator: "\n").first { $0.hasPrefix(prefix) }.flatMap { Int($0.dropFirst(prefix.count)) } ?? 0
    }

    func send(_ method: HTTPMethod, _ url: String, token: String, body: String? = nil) async throws -> Data {
        var request = HTTPClientRequest(url: url)
        request.method = method
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: body))
        }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        let bytes = try await response.body.collect(upTo: 16 << 20)
        guard response.status.code < 300 else { throw BenchError("\(method) \(url) answered \(response.status.code)") }
        return Data(bytes.readableBytesView)
    }
}

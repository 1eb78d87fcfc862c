import CroniumCore
import Foundation
import NIOHTTP1

/// A10: what a runtime helper call costs a script: `get_variable` from Python in a real run of
/// the real `cronium serve`, against a bare keep-alive GET of `/runtime/v1/input` from the same
/// script over the same socket (the least a runtime call can cost there). Both measured inside
/// one run, alternating, so the machine's noise falls on both alike.
struct HelperBench {
    let http: HTTPBenches
    let calls: Int

    func run() async throws -> [BenchResult] {
        // No rate limit in the way of a benchmark.
        let server = try await ServerBenches.start(binary: http.binary, extra: ["--runtime-rate-limit", "100000"])
        defer { server.stop() }
        let token = try String(contentsOfFile: "\(server.data)/initial-admin-token", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let base = "http://127.0.0.1:\(server.port)"
        let script = """
            import cronium, http.client, json, os, socket, statistics, time
            class Unix(http.client.HTTPConnection):
                def connect(self):
                    self.sock = socket.socket(socket.AF_UNIX)
                    self.sock.connect(os.environ["CRONIUM_RUNTIME_URL"][5:])
            bare = Unix("run")
            headers = {"Authorization": "Bearer " + os.environ["CRONIUM_RUNTIME_TOKEN"]}
            cronium.set_variable("BENCH_VALUE", "x" * 64)
            helper_ms, bare_ms = [], []
            for index in range(\(calls) + 50):
                started = time.perf_counter()
                cronium.get_variable("BENCH_VALUE")
                took = (time.perf_counter() - started) * 1000
                started = time.perf_counter()
                bare.request("GET", "/runtime/v1/input", headers=headers)
                bare.getresponse().read()
                took_bare = (time.perf_counter() - started) * 1000
                if index >= 50:
                    helper_ms.append(took)
                    bare_ms.append(took_bare)
            def p(values, q):
                values = sorted(values)
                return values[min(len(values) - 1, int(q * len(values)))]
            print("A10", json.dumps({"helper": [p(helper_ms, 0.5), p(helper_ms, 0.99)], "bare": [p(bare_ms, 0.5), p(bare_ms, 0.99)]}))
            """
        let body = try JSONSerialization.data(withJSONObject: ["name": "helper bench", "type": "PYTHON", "content": script])
        let created = try await http.send(.POST, "\(base)/api/v1/events", token: token, body: String(decoding: body, as: UTF8.self))
        struct IDOnly: Decodable { let id: Int64 }
        struct Started: Decodable { let executionId: Int64 }
        struct Page: Decodable {
            struct Line: Decodable { let text: String }
            let lines: [Line]
            let complete: Bool
        }
        let event = try JSONDecoder().decode(IDOnly.self, from: created)
        let run = try JSONDecoder().decode(Started.self, from: try await http.send(.POST, "\(base)/api/v1/events/\(event.id)/run", token: token))
        let deadline = ContinuousClock.now + .seconds(120)
        while ContinuousClock.now < deadline {
            let page = try JSONDecoder().decode(
                Page.self,
                from: try await http.send(.GET, "\(base)/api/v1/executions/\(run.executionId)/logs", token: token)
            )
            if let line = page.lines.first(where: { $0.text.hasPrefix("A10 ") }) {
                struct Measured: Decodable { let helper: [Double]; let bare: [Double] }
                let measured = try JSONDecoder().decode(Measured.self, from: Data(line.text.dropFirst(4).utf8))
                let above = measured.helper[0] - measured.bare[0]
                return [
                    BenchResult(
                        id: "A10",
                        metric: "get_variable from Python, p50 above a bare GET on the same socket",
                        value: above,
                        unit: "ms",
                        target: "≤ 1 ms",
                        pass: above <= 1,
                        detail:
                            "get_variable p50 \(format(measured.helper[0])) p99 \(format(measured.helper[1])) ms; bare GET p50 \(format(measured.bare[0])) p99 \(format(measured.bare[1])) ms; \(calls) calls each, in one sandboxed run"
                    )
                ]
            }
            if page.complete { throw BenchError("the helper bench's run ended without its result: \(page.lines.map(\.text).suffix(5))") }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw BenchError("the helper bench's run did not finish within 120 s")
    }
}

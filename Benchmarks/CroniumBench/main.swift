import Foundation

/// `cronium-bench [--quick] [--only A1,A5] [--plain] [--container-socket PATH] [--server-binary PATH]` (`--plain`: A1, A2, A3 and
/// A4 without bubblewrap only; A8 finds the container engine as `cronium serve` does unless given; `--server-binary`: the
/// `cronium` that A6, A7, A10, A12 and A13 start, such as the packaged one, instead of the one beside this benchmark): measures
/// on this machine, in one run, what docs/performance.md reports. Prints a table for people, then the same rows as JSON.
let arguments = CommandLine.arguments.dropFirst()
let usage = "usage: cronium-bench [--quick] [--only A1,A5] [--plain] [--container-socket PATH] [--server-binary PATH]"
/// Anything else (`--help`, a misspelling) prints the usage instead of starting a long run.
for (index, argument) in arguments.enumerated() {
    let takesValue = ["--only", "--container-socket", "--server-binary"]
    let isValue = index > 0 && takesValue.contains(arguments[arguments.startIndex + index - 1])
    guard isValue || ["--quick", "--plain"].contains(argument) || takesValue.contains(argument) else {
        FileHandle.standardError.write(
            Data("\(argument == "--help" || argument == "-h" ? "" : "cronium-bench: unknown argument \(argument)\n")\(usage)\n".utf8)
        )
        exit(argument == "--help" || argument == "-h" ? 0 : 2)
    }
}
let quick = arguments.contains("--quick")
let only: Set<String>? = arguments.firstIndex(of: "--only").flatMap { index in
    arguments.index(after: index) < arguments.endIndex ? Set(arguments[arguments.index(after: index)].split(separator: ",").map(String.init)) : nil
}
func wanted(_ id: String) -> Bool { only?.contains(id) ?? true }
func progress(_ message: String) { FileHandle.standardError.write(Data("cronium-bench: \(message)\n".utf8)) }

var results: [BenchResult] = []
do {
    if wanted("A1") || wanted("A4") {
        let local = LocalRunBenches(samples: quick ? 30 : 200, jobs: quick ? 200 : 2000, concurrency: 16)
        for sandboxed in arguments.contains("--plain") ? [false] : [false, true] {
            progress("A1/A4 local runs, \(sandboxed ? "sandboxed with bubblewrap" : "plain processes")…")
            results += try await local.run(sandboxed: sandboxed).filter { wanted($0.id) || $0.id.contains("/") }
        }
    }
    if wanted("A4p") {
        progress("A4p local runs while a million old runs are purged…")
        let local = LocalRunBenches(samples: 0, jobs: quick ? 500 : 2000, concurrency: 16)
        results.append(try await RetentionBench(oldRuns: quick ? 200_000 : 1_000_000, rounds: quick ? 2 : 5, local: local).run())
    }
    if wanted("A2") || wanted("A3") {
        let workflows = WorkflowBench(samples: quick ? 20 : 100, fiboSamples: quick ? 1 : 3)
        for sandboxed in arguments.contains("--plain") ? [false] : [false, true] {
            progress("A2/A3 workflows, \(sandboxed ? "sandboxed with bubblewrap" : "plain processes")…")
            results += try await workflows.run(sandboxed: sandboxed)
        }
    }
    if wanted("A8") {
        progress("A8 container runs against the engine's own, and bubblewrap against a plain spawn…")
        let socket = arguments.firstIndex(of: "--container-socket").flatMap {
            arguments.index(after: $0) < arguments.endIndex ? arguments[arguments.index(after: $0)] : nil
        }
        results += try await ContainerBench(samples: quick ? 5 : 20, socket: socket).run()
    }
    if wanted("A11") {
        progress("A11 remote runs over SSH (three sshd hosts in network namespaces)…")
        let runner = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("cronium-runner").path
        results += try await RemoteBench(samples: quick ? 20 : 100, runnerBinary: runner).run()
    }
    if wanted("A9") {
        progress("A9 a 10 MB log…")
        results += try await LogThroughputBench().run()
    }
    if wanted("A5") {
        for count in [1, 1_000, 10_000] {
            progress("A5 scheduler with \(count) per-second schedules…")
            results.append(try await SchedulerBench(seconds: quick ? 2 : 5).run(schedules: count))
        }
    }
    if wanted("A6") || wanted("A7") || wanted("A10") || wanted("A12") || wanted("A13") {
        let binary =
            arguments.firstIndex(of: "--server-binary").flatMap {
                arguments.index(after: $0) < arguments.endIndex ? arguments[arguments.index(after: $0)] : nil
            }
            ?? URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("cronium").path
        if FileManager.default.isExecutableFile(atPath: binary) {
            let server = ServerBenches(binary: binary, coldStarts: quick ? 3 : 10)
            if wanted("A6") {
                for count in [0, 10_000] {
                    progress("A6 idle memory with \(count) schedules…")
                    results.append(try await server.idleRSS(schedules: count))
                }
            }
            if wanted("A7") {
                progress("A7 cold starts…")
                results += try await server.coldStart()
            }
            let http = HTTPBenches(binary: binary, requests: quick ? 200 : 1000, clients: 8, idleSeconds: quick ? 10 : 60)
            if wanted("A10") {
                progress("A10 runtime helper round trips…")
                results += try await HelperBench(http: http, calls: quick ? 200 : 1000).run()
            }
            if wanted("A12") {
                progress("A12 run-now over HTTP…")
                results += try await http.runNow()
            }
            if wanted("A13") {
                for count in [0, 10_000] {
                    progress("A13 idle CPU with \(count) schedules for \(http.idleSeconds) s…")
                    results.append(try await http.idleCPU(schedules: count))
                }
            }
        } else {
            progress("A6, A7, A10, A12 and A13 skipped: no \(binary); build it first with `swift build -c release`")
        }
    }
} catch {
    progress("failed: \(error)")
    report(results)
    exit(1)
}
report(results)

import CroniumCore
import CroniumTesting
import Foundation
import Testing

@testable import CroniumExecutors

#if canImport(Glibc)
    import Glibc
#endif

/// Hostile scripts against the boundary, sandboxed and not. CI runs the tests as root, the case
/// that matters most: root outside must never mean privilege inside.
@Suite struct SandboxBoundaryTests {
    static let isRoot = getuid() == 0

    struct Result {
        let outcome: ExecutionOutcome
        let stdout: [String]
        let stderr: [String]
        /// The value after `key=` on the line that starts with it.
        func value(_ key: String) -> String? {
            stdout.first { $0.hasPrefix("\(key)=") }.map { String($0.dropFirst(key.count + 1)) }
        }
    }

    func executor(sandboxed: Bool, in directory: TemporaryDirectory) throws -> LocalProcessExecutor {
        LocalProcessExecutor(
            configuration: .init(
                interpreters: .resolve(),
                isolation: try Isolation.forTests(directory: directory, mode: sandboxed ? .required : .off),
                workRoot: directory.appending("work")
            )
        )
    }

    /// One run on `executor`, or on an executor of its own.
    func run(
        _ script: String,
        type: EventType = .bash,
        sandboxed: Bool = true,
        limits: RunLimits? = nil,
        readOnlyPaths: [String]? = nil,
        timeoutSeconds: Int = 60,
        on executor: LocalProcessExecutor? = nil,
        in directory: TemporaryDirectory
    ) async throws -> Result {
        var event = try scriptEvent(type, script, timeoutSeconds: timeoutSeconds)
        event.limits = limits
        event.readOnlyPaths = readOnlyPaths
        let executor = try executor ?? self.executor(sandboxed: sandboxed, in: directory)
        let recorder = OutputRecorder()
        let outcome = await executor.execute(
            RunRequest(executionId: ExecutionID(Int64.random(in: 1...1_000_000)), event: event, environment: [:]),
            output: recorder.handler
        )
        return Result(outcome: outcome, stdout: recorder.text(.stdout), stderr: recorder.text(.stderr))
    }

    @Test(arguments: [true, false])
    func noPrivilegeInside(sandboxed: Bool) async throws {
        let directory = try TemporaryDirectory("boundary")
        defer { directory.remove() }
        let script = """
            echo "cap=$(awk '/^CapEff/ {print $2}' /proc/self/status)"
            echo "nnp=$(awk '/^NoNewPrivs/ {print $2}' /proc/self/status)"
            echo "seccomp=$(awk '/^Seccomp:/ {print $2}' /proc/self/status)"
            echo "uid=$(id -u)"
            echo "session=$(awk '{print $6 "/" $1}' /proc/$$/stat)"
            ls /proc/$$/fd > "$TMPDIR/fds"; echo "fds=$(sort -n "$TMPDIR/fds" | xargs)"
            mount -t tmpfs none /tmp 2>/dev/null; echo "mount=$?"
            mount -o remount,rw / 2>/dev/null; echo "remount=$?"
            unshare -U true 2>/dev/null; echo "unshare_user=$?"
            unshare -m true 2>/dev/null; echo "unshare_mount=$?"
            sleep 30 & victim=$!
            python3 -c "import ctypes,sys; sys.exit(0 if ctypes.CDLL(None, use_errno=True).ptrace(16, $victim, 0, 0) == 0 else 1)"; echo "ptrace=$?"
            kill $victim
            """
        let result = try await run(script, sandboxed: sandboxed, in: directory)
        #expect(result.outcome.status == .success, "\(result.stderr)")
        #expect(result.value("cap") == "0000000000000000")
        #expect(result.value("nnp") == "1")
        #expect(result.value("seccomp") == "2")
        // Nothing of the server's leaks in: only the standard streams and bash's own script handle.
        #expect(result.value("fds") == "0 1 2 255")
        // Sandboxed runs are nobody in their own PID namespace; others each get a uid of their own.
        if Self.isRoot && sandboxed { #expect(result.value("uid") == "65534") }
        if Self.isRoot && !sandboxed { #expect(RunUIDs.defaultRange.contains(UInt32(result.value("uid") ?? "") ?? 0), "\(result.stdout)") }
        // Its own session: it leads it, so it has no terminal of the server's to type into.
        let session = result.value("session")?.split(separator: "/").map(String.init) ?? []
        if !sandboxed { #expect(session.count == 2 && session[0] == session[1], "\(session)") }
        for key in ["mount", "remount", "unshare_user", "unshare_mount", "ptrace"] {
            #expect(result.value(key) != nil && result.value(key) != "0", "\(key) succeeded: \(result.stdout)")
        }
    }

    @Test func leastViewOfTheFileSystem() async throws {
        let directory = try TemporaryDirectory("boundary")
        defer { directory.remove() }
        try "secret".write(toFile: directory.appending("cronium.sqlite"), atomically: true, encoding: .utf8)
        let marker = "cronium-probe-\(UUID().uuidString.prefix(8))"
        let script = """
            for path in /etc/shadow /root /home /var /srv /etc/ssh \(directory.path) \(directory.path)/cronium.sqlite \(directory.appending("work")); do
              if ls "$path" >/dev/null 2>&1 || cat "$path" >/dev/null 2>&1; then echo "visible=$path"; fi
            done
            for path in /var/tmp/\(marker) /usr/\(marker) /etc/\(marker) /\(marker) /run/cronium/\(marker) /proc/\(marker); do
              if (echo x > "$path") 2>/dev/null; then echo "wrote=$path"; fi
            done
            # The files copied in (the script itself, the accounts) cannot be changed either.
            for path in "$0" /etc/passwd /etc/group; do
              if (echo x >> "$path") 2>/dev/null; then echo "wrote=$path"; fi
            done
            echo "script=$0"
            echo data > ./mine && echo "work=$(cat ./mine) $(pwd)"
            echo data > /tmp/mine && echo "tmp=$(cat /tmp/mine)"
            echo "home=$HOME"
            echo "whoami=$(whoami)"
            echo "etc=$(ls /etc | tr '\\n' ' ')"
            """
        let result = try await run(script, in: directory)
        #expect(result.outcome.status == .success, "\(result.stderr)")
        #expect(result.stdout.filter { $0.hasPrefix("visible=") || $0.hasPrefix("wrote=") } == [])
        #expect(result.value("work") == "data /work")
        #expect(result.value("tmp") == "data")
        #expect(result.value("home") == "/work")
        #expect(result.value("script") == "/run/cronium/script.sh")
        #expect(result.value("whoami") == (Self.isRoot ? "nobody" : RunUser.server.name))
        let etc = Set(result.value("etc")?.split(separator: " ").map(String.init) ?? [])
        #expect(!etc.contains("shadow") && !etc.contains("ssh") && etc.contains("passwd") && etc.contains("ld.so.cache"))
        // Nothing was written on the host.
        #expect(!FileManager.default.fileExists(atPath: "/var/tmp/\(marker)") && !FileManager.default.fileExists(atPath: "/\(marker)"))
    }

    /// Without bubblewrap, runs share the run user: their directories must still be out of reach
    /// of one another (a root others may pass through but not list, names nobody can guess).
    @Test(.enabled(if: isRoot, "runs switch users only under a root server"))
    func unsandboxedRunsCannotFindEachOther() async throws {
        let directory = try TemporaryDirectory("boundary")
        defer { directory.remove() }
        let script = """
            echo "mine=$(basename "$PWD")"
            ls "$(dirname "$PWD")" >/dev/null 2>&1; echo "list=$?"
            ls "$(dirname "$PWD")/1" >/dev/null 2>&1; echo "guess=$?"
            """
        let result = try await run(script, sandboxed: false, in: directory)
        #expect(result.value("mine")?.contains("-") == true)
        #expect(result.value("list") != "0")
        #expect(result.value("guess") != "0")
    }

    @Test func readOnlyPathsPerEvent() async throws {
        let directory = try TemporaryDirectory("boundary")
        defer { directory.remove() }
        let shared = try TemporaryDirectory("shared")
        defer { shared.remove() }
        try "reference data".write(toFile: shared.appending("input.txt"), atomically: true, encoding: .utf8)
        chmod(shared.path, 0o755)
        chmod(shared.appending("input.txt"), 0o644)
        let script = "echo \"read=$(cat \(shared.path)/input.txt)\"\n(echo x > \(shared.path)/new) 2>/dev/null; echo \"write=$?\""
        let result = try await run(script, readOnlyPaths: [shared.path], in: directory)
        #expect(result.value("read") == "reference data")
        #expect(result.value("write") != "0")
        #expect(!FileManager.default.fileExists(atPath: shared.appending("new")))

        let refused = try await run("true", readOnlyPaths: [directory.path], in: directory)
        #expect(refused.outcome.status == .failure)
        #expect(refused.outcome.error?.message.contains("data directory") == true)

        // A path gone since the event was saved: the run says which, instead of the sandbox failing.
        let gone = try await run("true", readOnlyPaths: [shared.appending("gone")], in: directory)
        #expect(gone.outcome.status == .failure && gone.outcome.error?.code == .startFailed)
        #expect(
            gone.outcome.error?.message.contains("\(shared.appending("gone"))' does not exist on this server") == true,
            "\(String(describing: gone.outcome.error))"
        )
    }

    @Test(.enabled(if: isRoot, "per-run cgroups need root here"), arguments: [true, false])
    func forkBombEndsAsTooManyProcesses(sandboxed: Bool) async throws {
        let directory = try TemporaryDirectory("boundary")
        defer { directory.remove() }
        let start = ContinuousClock.now
        // The script stays to watch its bomb, as a script that forks too much keeps running.
        let result = try await run("bomb() { bomb | bomb & }; bomb; sleep 30", sandboxed: sandboxed, limits: RunLimits(processes: 32), in: directory)
        #expect(result.outcome.status == .failure)
        #expect(result.outcome.error?.code == .tooManyProcesses)
        #expect(result.outcome.error?.message.contains("too many processes") == true)
        #expect(ContinuousClock.now - start < .seconds(20))
        // The host is still fine: it can start processes.
        let after = try await run("echo ok", sandboxed: sandboxed, in: directory)
        #expect(after.stdout == ["ok"])
    }

    /// Groups are reused: a run after one that hit its limits starts with clean counters and may
    /// have larger limits; the idle groups go with the executor.
    @Test(.enabled(if: isRoot, "per-run cgroups need root here"), arguments: [true, false])
    func aGroupServesTheNextRunWithItsOwnCountersAndLimits(sandboxed: Bool) async throws {
        let directory = try TemporaryDirectory("boundary")
        defer { directory.remove() }
        let base: String
        let instance: String
        do {
            let executor = try executor(sandboxed: sandboxed, in: directory)
            let cgroups = try #require(executor.configuration.isolation.cgroups)
            (base, instance) = (cgroups.memoryBase, cgroups.instance)
            let bomb = try await run("bomb() { bomb | bomb & }; bomb; sleep 30", limits: RunLimits(processes: 32), on: executor, in: directory)
            #expect(bomb.outcome.error?.code == .tooManyProcesses)
            let afterBomb = try await run("sleep 0.2; echo ok", on: executor, in: directory)
            #expect(afterBomb.outcome.status == .success, "\(afterBomb)")
            let hog = "chunks = []\nfor _ in range(64):\n    chunks.append(bytearray(8 << 20))\nprint('survived')"
            let oom = try await run(hog, type: .python, limits: RunLimits(memoryMB: 64), on: executor, in: directory)
            #expect(oom.outcome.error?.code == .outOfMemory, "\(oom)")
            // 200 MiB is over the last run's 64 MiB: the limit is raised for this run.
            let afterOOM = try await run(
                "x = bytearray(200 << 20)\nprint('ok')",
                type: .python,
                limits: RunLimits(memoryMB: 400),
                on: executor,
                in: directory
            )
            #expect(afterOOM.stdout == ["ok"], "\(afterOOM)")
            let groups = try FileManager.default.contentsOfDirectory(atPath: base).filter { $0.hasPrefix("\(instance)-run-") }
            #expect(groups.count == 1, "every run took the one idle group: \(groups)")
        }
        let left = try FileManager.default.contentsOfDirectory(atPath: base).filter { $0.hasPrefix("\(instance)-run-") }
        #expect(left.isEmpty, "idle groups go with their executor: \(left)")
    }

    @Test(.enabled(if: isRoot, "per-run cgroups need root here"), arguments: [true, false])
    func allocatingPastTheLimitEndsAsOutOfMemory(sandboxed: Bool) async throws {
        let directory = try TemporaryDirectory("boundary")
        defer { directory.remove() }
        let script = "chunks = []\nfor _ in range(64):\n    chunks.append(bytearray(8 << 20))\nprint('survived')"
        let result = try await run(script, type: .python, sandboxed: sandboxed, limits: RunLimits(memoryMB: 64), in: directory)
        #expect(result.outcome.status == .failure)
        #expect(result.outcome.error?.code == .outOfMemory, "\(result)")
        #expect(result.stdout == [])
    }

    @Test func fillingTheWorkDirectoryStopsAtItsCap() async throws {
        let directory = try TemporaryDirectory("boundary")
        defer { directory.remove() }
        let script = """
            dd if=/dev/zero of=/work/big bs=1M count=16 2>/dev/null; echo "work=$?"
            dd if=/dev/zero of=/tmp/big bs=1M count=16 2>/dev/null; echo "tmp=$?"
            echo "size=$(du -sm /work | cut -f1)"
            """
        let result = try await run(script, limits: RunLimits(diskMB: 4), in: directory)
        #expect(result.value("work") != "0")
        #expect(result.value("tmp") != "0")
        #expect(result.value("size").flatMap(Int.init).map { $0 <= 4 } == true)
    }

    @Test(arguments: [true, false])
    func openFilesAreLimited(sandboxed: Bool) async throws {
        let directory = try TemporaryDirectory("boundary")
        defer { directory.remove() }
        let result = try await run("echo \"nofile=$(ulimit -n)\"", sandboxed: sandboxed, limits: RunLimits(openFiles: 100), in: directory)
        #expect(result.value("nofile") == "100", "\(result)")
    }

    @Test func limitsAboveTheMaximaAreLowered() async throws {
        let directory = try TemporaryDirectory("boundary")
        defer { directory.remove() }
        var event = try scriptEvent(.bash, "ulimit -n")
        event.limits = RunLimits(openFiles: 1_000_000)
        let executor = LocalProcessExecutor(
            configuration: .init(
                interpreters: .resolve(),
                isolation: try Isolation.forTests(directory: directory) {
                    $0.defaultLimits = RunLimits(openFiles: 100)
                    $0.maximumLimits = RunLimits(openFiles: 500)
                },
                workRoot: directory.appending("work")
            )
        )
        let recorder = OutputRecorder()
        _ = await executor.execute(RunRequest(executionId: 1, event: event, environment: [:]), output: recorder.handler)
        #expect(recorder.text(.stdout) == ["500"])
        #expect(recorder.text(.system).contains { $0.contains("lowered") })
    }

    @Test func requiredSandboxThatCannotBeBuiltRefusesToStart() throws {
        let directory = try TemporaryDirectory("boundary")
        defer { directory.remove() }
        #expect(throws: Isolation.SetupError.self) {
            _ = try Isolation.forTests(directory: directory, mode: .required) { $0.bwrapPath = "/nonexistent/bwrap" }
        }
        var options = Isolation.Options(instance: "test-auto", forbiddenPaths: [directory.path])
        options.bwrapPath = "/nonexistent/bwrap"
        let (isolation, report) = try Isolation.detect(options)
        #expect(isolation.sandbox == nil)
        #expect(report.contains { $0.name == "bubblewrap sandbox" && !$0.active && $0.detail.contains("/nonexistent/bwrap") })
    }

    @Test func badOptionsAreRefused() throws {
        let directory = try TemporaryDirectory("boundary")
        defer { directory.remove() }
        #expect(throws: Isolation.SetupError.self) { _ = try Isolation.forTests(directory: directory) { $0.readOnlyPaths = ["/no/such/path"] } }
        #expect(throws: Isolation.SetupError.self) { _ = try Isolation.forTests(directory: directory) { $0.readOnlyPaths = [directory.path] } }
        #expect(throws: Isolation.SetupError.self) { _ = try Isolation.forTests(directory: directory) { $0.defaultLimits = RunLimits(memoryMB: 1) } }
        #expect(throws: Isolation.SetupError.self) {
            _ = try Isolation.forTests(directory: directory) {
                $0.defaultLimits = RunLimits(processes: 300)
                $0.maximumLimits = RunLimits(processes: 100)
            }
        }
        // A maximum below a built-in default lowers that default instead of refusing to start.
        let lowered = try Isolation.forTests(directory: directory) { $0.maximumLimits = RunLimits(processes: 100) }
        #expect(lowered.defaultLimits.processes == 100 && lowered.defaultLimits.memoryMB == RunLimits.defaults.memoryMB)
        if Self.isRoot {
            #expect(throws: Isolation.SetupError.self) { _ = try Isolation.forTests(directory: directory) { $0.runUser = "no-such-user-here" } }
            #expect(throws: Isolation.SetupError.self) { _ = try Isolation.forTests(directory: directory) { $0.runUser = "root" } }
        }
    }
}

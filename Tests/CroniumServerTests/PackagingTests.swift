import CroniumTesting
import Foundation
import Testing

private let builtPackage = ProcessInfo.processInfo.environment["CRONIUM_TEST_PACKAGE"]

/// The release artifacts of `scripts/package.sh --image`, run where users run them: the
/// tarball's binaries on a Debian without Swift, the image under podman. `scripts/test.sh` builds
/// them first and names the package in `CRONIUM_TEST_PACKAGE` (and checks that this suite ran).
@Suite(.enabled(if: builtPackage != nil, "needs CRONIUM_TEST_PACKAGE: scripts/test.sh builds the package first"))
struct PackagingTests {
    static let package = builtPackage
    static let image = ProcessInfo.processInfo.environment["CRONIUM_TEST_IMAGE"] ?? "cronium:latest"
    /// What the binary may still take from the system: docs/operations.md lists them.
    static let systemLibraries: Set<String> = [
        "linux-vdso.so.1", "libc.so.6", "libm.so.6", "libstdc++.so.6", "libgcc_s.so.1", "libz.so.1", "libdl.so.2", "libpthread.so.0",
        "librt.so.1", "libutil.so.1",
    ]

    static func podman(_ arguments: [String]) async throws -> (status: Int32, output: String) {
        try await ServiceTests.shell((["podman"] + arguments).map { "'\($0.replacingOccurrences(of: "'", with: "'\\''"))'" }.joined(separator: " "))
    }

    /// `cronium/runner:bash` is Debian's minbase with bash and curl: no Swift anywhere in it.
    @Test func theTarballsBinariesServeOnADebianWithoutSwift() async throws {
        let package = try #require(Self.package)
        let script = """
            set -e
            if ls /usr/lib/swift /usr/share/swift /opt/swift 2>/dev/null; then echo "swift is here"; exit 1; fi
            /opt/cronium/bin/cronium --version
            /opt/cronium/bin/cronium-runner version
            ldd /opt/cronium/bin/cronium | awk '{print "needs", $1}'
            /opt/cronium/bin/cronium serve --data-dir /tmp/data --sandbox off >/tmp/out 2>&1 &
            for i in $(seq 1 300); do
              if curl -sf http://127.0.0.1:5001/ready; then echo; exit 0; fi
              sleep 0.1
            done
            cat /tmp/out; exit 1
            """
        let (status, output) = try await Self.podman([
            "run", "--rm", "--network", "none", "--volume", "\(package):/opt/cronium:ro", "cronium/runner:bash", "bash", "-c", script,
        ])
        #expect(status == 0, "\(output)")
        #expect(output.contains(#""status":"ready""#), "\(output)")
        let lines = output.split(separator: "\n")
        #expect(lines.first?.hasPrefix("0.1.0 (commit ") == true && lines.first?.contains(", built 20") == true, "\(output)")
        let needed = Set(lines.filter { $0.hasPrefix("needs ") }.map { String($0.dropFirst(6)) }.filter { !$0.hasPrefix("/") })
        #expect(!needed.isEmpty && needed.isSubset(of: Self.systemLibraries), "\(needed.subtracting(Self.systemLibraries))")
    }

    @Test func theImageIsHealthyAndKeepsItsDataAcrossARestart() async throws {
        let name = "cronium-packaging-test-\(UInt32.random(in: 0...UInt32.max))"
        func cleanUp() async {
            _ = try? await Self.podman(["rm", "--force", name])
            _ = try? await Self.podman(["volume", "rm", "--force", name])
        }
        do { try await Self.exercise(container: name) } catch {
            await cleanUp()
            throw error
        }
        await cleanUp()
    }

    /// Starts the image as `name` with a volume of that name, uses it, restarts it, stops it.
    static func exercise(container name: String) async throws {
        // As docs/operations.md runs it: /proc unmasked, so that bubblewrap can give each run one.
        let started = try await podman([
            "run", "--detach", "--name", name, "--network", "none", "--security-opt", "unmask=/proc/*", "--volume", "\(name):/var/lib/cronium", image,
        ])
        #expect(started.status == 0, "\(started.output)")
        func healthy() async throws -> Bool { try await Self.podman(["healthcheck", "run", name]).status == 0 }
        #expect(try await eventually(timeout: .seconds(60)) { try await healthy() })
        let user = try await Self.podman(["exec", name, "id", "-u"])
        #expect(user.output.trimmingCharacters(in: .whitespacesAndNewlines) == "999")
        let status = try await Self.podman(["exec", name, "cronium", "status"])
        #expect(status.output.contains("bubblewrap sandbox: active"), "\(status.output)")
        let logs = try await Self.podman(["logs", name])
        #expect(logs.output.contains("First start: created user 'admin' with password"), "\(logs.output)")

        let token = "$(cat /var/lib/cronium/initial-admin-token)"
        let created = try await Self.podman([
            "exec", name, "bash", "-c",
            "cronium event create --token \(token) --name kept --type bash --script 'echo kept' && cronium event run 1 --wait --token \(token)"
                + " && cronium event create --token \(token) --name py --type python --script 'print(6 * 7)' && cronium event run 2 --wait --token \(token)"
                + " && cronium event create --token \(token) --name js --type nodejs --script 'console.log(6 * 9)' && cronium event run 3 --wait --token \(token)",
        ])
        #expect(
            created.status == 0 && created.output.contains("\nkept\n") && created.output.contains("\n42\n") && created.output.contains("\n54\n"),
            "\(created.output)"
        )
        #expect(try await Self.podman(["restart", "--time", "20", name]).status == 0)
        #expect(try await eventually(timeout: .seconds(60)) { try await healthy() })
        let after = try await Self.podman(["exec", name, "bash", "-c", "cronium event list --token \(token) && cronium logs 1 --token \(token)"])
        #expect(after.status == 0 && after.output.contains(" kept ") && after.output.hasSuffix("kept\n"), "\(after.output)")
        let stopped = try await Self.podman(["stop", "--time", "20", name])
        #expect(stopped.status == 0)
        let exit = try await Self.podman(["inspect", name, "--format", "{{.State.ExitCode}}"])
        #expect(exit.output.trimmingCharacters(in: .whitespacesAndNewlines) == "0", "a clean stop on SIGTERM: \(exit.output)")
    }
}

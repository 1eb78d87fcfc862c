import CroniumEngine
import CroniumServer
import CroniumTesting
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Every shell example in the docs, run as shown against a fresh server, page by page: the docs
/// cannot drift from what Cronium does. `CRONIUM_DOCS_UPDATE=1 swift test --filter DocsExamples`
/// writes what the commands printed back into the pages (then review the diff).
@Suite struct DocsExamplesTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    /// Every page, or only `CRONIUM_DOCS_PAGE` (such as `docs/cli.md`) while fixing one.
    static let pages =
        ProcessInfo.processInfo.environment["CRONIUM_DOCS_PAGE"].map { [$0] }
        ?? ["README.md"]
        + ((try? FileManager.default.contentsOfDirectory(atPath: root + "/docs")) ?? []).filter { $0.hasSuffix(".md") }.sorted().map { "docs/" + $0 }
    static let marker = "@@docs-example-end@@"

    @Test(arguments: pages) func theExamplesOfAPageRunAsShown(page: String) async throws {
        let docs = try DocsPage(path: "\(Self.root)/\(page)")
        guard !docs.examples.isEmpty else { return }
        // With the engine scripts/test.sh started, as a reader's server would find theirs.
        try await CLITests.withLiveServer(dataDirectoryName: ".cronium", configure: { $0.engine.containerSocket = ServerFixture.containerSocket }) {
            url,
            _,
            directory in
            try await Self.check(docs, url: url, directory: directory)
        }
    }

    /// A line of `…` stands for any number of lines, none included; `…` within a line for any text.
    @Test func anEllipsisStandsForAnyLinesOrNone() {
        let page = "fork: retry\n…\nexecution 3 ended FAILURE"
        #expect(DocsOutput.matches(expected: page, actual: "fork: retry\nexecution 3 ended FAILURE"))
        #expect(DocsOutput.matches(expected: page, actual: "fork: retry\nfork: retry\n\nexecution 3 ended FAILURE"))
        #expect(!DocsOutput.matches(expected: page, actual: "fork: retry\nexecution 3 ended SUCCESS"))
        #expect(!DocsOutput.matches(expected: page, actual: "execution 3 ended FAILURE"))
        #expect(DocsOutput.matches(expected: "id … took …\n…", actual: "id 7 took 3 ms"))
        #expect(!DocsOutput.matches(expected: "id … took", actual: "id 7\ntook"))
    }

    private static func check(_ docs: DocsPage, url: String, directory: String) async throws {
        let page = docs.path.replacingOccurrences(of: root + "/", with: "")
        var ports = [DocsPort(shown: 5001, real: Int(url.split(separator: ":").last ?? "") ?? 0)]
        // A page that sends messages has receivers of its own: a webhook that takes every POST
        // (5002) and an SMTP server without TLS or login (2525).
        let commands = docs.examples.map(\.command)
        let hook = commands.contains { $0.contains(":5002") } ? try await LocalHTTPServer.start { _ in (200, #"{"ok":true}"#) } : nil
        defer { hook?.stop() }
        let smtp = commands.contains { $0.contains(":2525") || $0.contains("--smtp-port 2525") } ? try await SMTPReceiver.start(security: .none) : nil
        defer { smtp?.stop() }
        if let hook { ports.append(DocsPort(shown: 5002, real: hook.port)) }
        if let smtp { ports.append(DocsPort(shown: 2525, real: smtp.port)) }
        let outputs = try await run(
            commands.map { command in
                ports.reduce(command) {
                    $0.replacingOccurrences(of: ":\($1.shown)", with: ":\($1.real)").replacingOccurrences(
                        of: "--smtp-port \($1.shown)",
                        with: "--smtp-port \($1.real)"
                    )
                }
            },
            in: directory,
            port: ports[0].real
        )
        var failures: [String] = []
        for (example, output) in zip(docs.examples, outputs) {
            let expected = DocsOutput.normalise(example.expected.joined(separator: "\n"), ports: ports, directory: directory)
            let actual = DocsOutput.normalise(
                output ?? "<no output: the page's script stopped before this command>",
                ports: ports,
                directory: directory
            )
            if !DocsOutput.matches(expected: expected, actual: actual) {
                failures.append("\(page):\(example.line): $ \(example.command)\n--- the page shows:\n\(expected)\n--- it printed:\n\(actual)")
            }
        }
        if ProcessInfo.processInfo.environment["CRONIUM_DOCS_UPDATE"] == "1", !failures.isEmpty {
            try rewrite(docs, outputs: outputs, ports: ports, directory: directory)
        }
        // Readable on its own too: the expectation's message below is one escaped line.
        if !failures.isEmpty { print(failures.joined(separator: "\n\n")) }
        #expect(failures.isEmpty, "\(failures.count) of \(docs.examples.count) examples differ:\n\n\(failures.joined(separator: "\n\n"))")
    }

    /// Runs the commands in order in one bash, as a reader would type them in one terminal, and
    /// returns what each printed (stdout and stderr together); nil for those never reached.
    static func run(_ commands: [String], in directory: String, port: Int) async throws -> [String?] {
        var script = """
            exec 2>&1 </dev/null
            cd '\(directory)'
            export PATH='\(URL(fileURLWithPath: CLITests.binary).deletingLastPathComponent().path)':/usr/bin:/bin HOME='\(directory)' CRONIUM_URL=http://127.0.0.1:\(port) CRONIUM_CONTAINER_SOCKET='\(ServerFixture.containerSocket ?? "")'

            """
        for command in commands { script += "\(command)\necho \(marker)\n" }
        let whole = script
        let output: String = try await offThePool {
            // In a session of its own, so that a command that never ends is killed with
            // everything it started, and the page fails instead of hanging.
            let child = try PipedChild(["/usr/bin/setsid", "/bin/bash", "-c", whole], environment: PipedChild.inheritedEnvironment)
            child.closeInput()
            let killer = DispatchWorkItem { kill(-child.pid, SIGKILL) }
            // A page's examples take up to 20 s alone, three times that while the whole suite
            // shares the machine's two cores.
            DispatchQueue.global().asyncAfter(deadline: .now() + 180, execute: killer)
            let data = child.readToEnd()
            _ = waitForExit(child.pid)
            killer.cancel()
            return String(decoding: data, as: UTF8.self)
        }
        var pieces: [String?] = output.components(separatedBy: marker + "\n").dropLast().map { $0 }
        while pieces.count < commands.count { pieces.append(nil) }
        return pieces
    }

    /// Writes each command's output under it, with secrets cut short as the pages show them.
    static func rewrite(_ docs: DocsPage, outputs: [String?], ports: [DocsPort], directory: String) throws {
        var lines = docs.lines
        for (example, output) in zip(docs.examples, outputs).reversed() {
            guard let output else { continue }
            var shown = DocsOutput.shown(output, ports: ports, directory: directory)
            if shown.hasSuffix("\n") { shown.removeLast() }
            let replacement = shown.isEmpty ? [] : shown.components(separatedBy: "\n")
            lines.replaceSubrange(example.outputLines, with: replacement)
        }
        try lines.joined(separator: "\n").write(toFile: docs.path, atomically: true, encoding: .utf8)
    }
}

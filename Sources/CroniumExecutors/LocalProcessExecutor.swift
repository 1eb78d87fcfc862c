import CroniumCore
import Foundation
import Subprocess

#if canImport(Glibc)
import Glibc
#endif
#if canImport(System)
import System
#else
import SystemPackage
#endif

/// Runs Bash, Python and Node.js scripts as child processes in their own session and process
/// group, sandboxed by bubblewrap when it is available. On exit, timeout or cancel the whole
/// process group is killed, so nothing a script started outlives its run.
public struct LocalProcessExecutor: Executor {
    public struct Configuration: Sendable {
        public var interpreters: Interpreters
        public var sandbox: Sandbox?
        /// Each run gets `<workRoot>/<execution id>` as its working directory, removed afterwards.
        public var workRoot: String
        /// Between SIGTERM and SIGKILL when a run is stopped.
        public var killGracePeriod: Duration

        public init(interpreters: Interpreters, sandbox: Sandbox?, workRoot: String, killGracePeriod: Duration = .seconds(5)) {
            self.interpreters = interpreters
            self.sandbox = sandbox
            self.workRoot = workRoot
            self.killGracePeriod = killGracePeriod
        }
    }

    public let configuration: Configuration

    public init(configuration: Configuration) { self.configuration = configuration }

    public func execute(_ request: ExecutionRequest, output: @escaping OutputHandler) async -> ExecutionOutcome {
        let event = request.event
        guard let interpreter = configuration.interpreters.path(for: event.type) else {
            return ExecutionOutcome(status: .failure, error: "no interpreter for \(event.type.rawValue) on this server; install it or set its path")
        }
        let workDirectory = "\(configuration.workRoot)/\(request.executionId)"
        let scriptPath = "\(workDirectory)/\(Self.scriptName(for: event.type))"
        do {
            try FileManager.default.createDirectory(atPath: workDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            try Data(event.content.utf8).write(to: URL(fileURLWithPath: scriptPath))
        } catch {
            return ExecutionOutcome(status: .failure, error: "could not prepare the work directory: \(error.localizedDescription)")
        }
        defer { try? FileManager.default.removeItem(atPath: workDirectory) }

        var command = [interpreter] + Self.interpreterFlags(for: event.type) + [scriptPath]
        if let sandbox = configuration.sandbox {
            command = [sandbox.bwrapPath] + sandbox.arguments(workDirectory: workDirectory, network: event.networkAccess, command: command)
        }
        var environment = request.environment
        environment["PATH"] = environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        environment["HOME"] = workDirectory
        environment["TMPDIR"] = configuration.sandbox == nil ? workDirectory : "/tmp"
        environment["LANG"] = environment["LANG"] ?? "C.UTF-8"

        let timeout = Duration.seconds(event.timeoutSeconds)
        let run = ProcessRun(
            command: command, environment: environment, workDirectory: workDirectory, gracePeriod: configuration.killGracePeriod,
            leaderIsSandbox: configuration.sandbox != nil)
        return await withTaskGroup(of: RaceResult.self) { group in
            group.addTask { .finished(await run.run(output: output)) }
            group.addTask {
                do { try await Task.sleep(for: timeout) } catch { return .cancelled }
                return .timedOut
            }
            let first = await group.next()!
            switch first {
            case .finished(let result):
                group.cancelAll()
                return Task.isCancelled ? ExecutionOutcome(status: .cancelled, exitCode: result.exitCode, error: "cancelled") : result
            case .timedOut:
                await output(.system, "timed out after \(event.timeoutSeconds)s; stopping the process group")
                group.cancelAll()
                var outcome = ExecutionOutcome(status: .timeout, error: "timed out after \(event.timeoutSeconds)s")
                while let next = await group.next() {
                    if case .finished(let result) = next { outcome.exitCode = result.exitCode }
                }
                return outcome
            case .cancelled:
                group.cancelAll()
                return ExecutionOutcome(status: .cancelled, error: "cancelled")
            }
        }
    }

    private enum RaceResult: Sendable {
        case finished(ExecutionOutcome)
        case timedOut
        case cancelled
    }

    static func scriptName(for type: EventType) -> String {
        switch type {
        case .bash, .httpRequest: "script.sh"
        case .python: "script.py"
        case .nodejs: "script.js"
        }
    }

    /// Python buffers stdout when it is not a terminal; `-u` makes lines reach the log as they are printed.
    static func interpreterFlags(for type: EventType) -> [String] {
        type == .python ? ["-u"] : []
    }
}

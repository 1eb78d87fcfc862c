import CroniumCore
import CroniumHelpers
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Runs Bash, Python and Node.js scripts in containers through the Docker Engine API (Docker, or
/// Podman's compatible service): one container per run, with no capabilities, a read-only root,
/// no network unless the event asks, and the run's limits. The script and the helper libraries
/// arrive through a read-only directory of the run's; the runtime helpers reach Cronium through
/// the run's own socket, mounted in, so no sidecar and no network are needed.
public struct ContainerExecutor: Executor {
    public struct Configuration: Sendable {
        public var engine: ContainerEngine
        /// The image of each language's runs, unless an event names its own.
        public var images: [EventType: String]
        /// Where each run's directory (script, helpers) is made, removed afterwards.
        public var workRoot: String
        /// Labels this server's containers, so that only its own orphans are removed at start-up.
        public var instance: String
        /// Limits of a run whose event sets none (every field filled).
        public var defaultLimits: RunLimits
        /// The most an event may ask for (every field filled).
        public var maximumLimits: RunLimits

        public init(
            engine: ContainerEngine,
            images: [EventType: String] = ContainerExecutor.defaultImages,
            workRoot: String,
            instance: String,
            maximumLimits: RunLimits = RunLimits.defaultMaxima
        ) {
            self.engine = engine
            self.images = images
            self.workRoot = workRoot
            self.instance = instance
            self.maximumLimits = maximumLimits
            self.defaultLimits = RunLimits.containerDefaults.capped(by: maximumLimits)
        }
    }

    /// The images `cronium images build` makes.
    public static let defaultImages: [EventType: String] = [
        .bash: "cronium/runner:bash", .python: "cronium/runner:python", .nodejs: "cronium/runner:node",
    ]

    /// The user scripts run as inside: not root, the same on every engine.
    public static let user = "1000:1000"
    static let userID: uid_t = 1000
    /// Where the run's directory appears inside (as in the sandbox).
    static let runDirectory = Sandbox.runDirectory
    static let runtimeSocket = Sandbox.runtimeSocket
    /// Labels on every container of Cronium's.
    public static let instanceLabel = "cronium.instance"
    public static let executionLabel = "cronium.execution"

    public let configuration: Configuration

    public init(configuration: Configuration) {
        self.configuration = configuration
    }

    public func prepare(_ context: ExecutionContext, output: RunOutput) async throws(ExecutionError) -> any PreparedRun {
        let event = context.event
        let client: DockerClient
        do { client = try await configuration.engine.client() } catch {
            throw ExecutionError(.startFailed, "container engine unavailable: \(error.description)")
        }
        guard let image = context.image ?? event.image ?? configuration.images[event.type] else {
            throw ExecutionError(.startFailed, "no image for \(event.type.rawValue) events on this server; set the event's image")
        }
        let limits = (event.limits ?? RunLimits()).filled(from: configuration.defaultLimits).capped(by: configuration.maximumLimits)
        let scriptName = LocalProcessExecutor.scriptName(for: event.type)
        let directory = "\(configuration.workRoot)/\(context.executionId)-\(String(UInt64.random(in: 0...UInt64.max), radix: 36))"
        do {
            try Self.writeRunDirectory(directory, root: configuration.workRoot, script: (scriptName, event.content), runtime: context.runtime != nil)
            for name in Self.outputs { try Self.handOver("\(directory)/\(name)") }
            if let runtime = context.runtime { try Self.handOver(runtime.socketPath) }
        } catch {
            try? FileManager.default.removeItem(atPath: directory)
            throw ExecutionError(.startFailed, "could not prepare the run's directory: \(error)")
        }

        var environment = context.environment
        environment["PATH"] = environment["PATH"] ?? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
        environment["LANG"] = environment["LANG"] ?? "C.UTF-8"
        environment["HOME"] = Sandbox.workDirectory
        environment["TMPDIR"] = "/tmp"
        // The directory read-only; the output FIFOs in it writable, bound over themselves.
        var binds = ["\(directory):\(Self.runDirectory):ro"] + Self.outputs.map { "\(directory)/\($0):\(Self.runDirectory)/\($0)" }
        if let runtime = context.runtime {
            environment = runtime.environment(socketPath: Self.runtimeSocket, helpersDirectory: "\(Self.runDirectory)/helpers", adding: environment)
            binds.append("\(runtime.socketPath):\(Self.runtimeSocket)")
        }
        let disk = "size=\((limits.diskMB ?? 256))m"
        let memory = Int64(limits.memoryMB ?? 512) << 20
        let spec = ContainerSpec(
            image: image,
            // The script writes into the run's FIFOs, which the server reads as it reads a local
            // run's pipes: the engines' own log streams may skip lines (Podman 4.3's `logs?follow`
            // delivered 31,487 of 300,001 lines of a fast `seq`).
            command: [
                "/bin/sh", "-c", #"exec "$@" >\#(Self.runDirectory)/stdout 2>\#(Self.runDirectory)/stderr"#, "sh", Self.interpreter(for: event.type),
            ] + LocalProcessExecutor.interpreterFlags(for: event.type) + ["\(Self.runDirectory)/\(scriptName)"],
            user: Self.user,
            workingDirectory: Sandbox.workDirectory,
            environment: environment,
            labels: [
                Self.instanceLabel: configuration.instance, Self.executionLabel: String(context.executionId.rawValue),
                "cronium.event": String(event.id.rawValue),
            ],
            host: .init(
                binds: binds,
                // Both in memory, counted against the run's memory limit, and gone with the container.
                tmpfs: [Sandbox.workDirectory: "rw,exec,nosuid,nodev,\(disk),mode=1777", "/tmp": "rw,nosuid,nodev,\(disk),mode=1777"],
                network: event.networkAccess ? "bridge" : "none",
                memoryBytes: memory,
                nanoCPUs: Int64(((limits.cpus ?? 0.5) * 1e9).rounded()),
                pidsLimit: Int64(limits.processes ?? 128),
                openFiles: Int64(limits.openFiles ?? 1024)
            )
        )
        let name = "cronium-\(context.executionId)-\(String(UInt32.random(in: 0...UInt32.max), radix: 36))"
        let id: String
        do {
            id = try await client.createContainer(spec, name: name)
        } catch {
            try? FileManager.default.removeItem(atPath: directory)
            if error.code == .noSuchImage {
                let hint =
                    configuration.images.values.contains(image)
                    ? "run `cronium images build`" : "pull or build it on the engine (`docker pull \(image)` or `podman pull \(image)`)"
                throw ExecutionError(.startFailed, "image \(image) not found — \(hint)")
            }
            throw ExecutionError(.startFailed, error.description)
        }
        return ContainerRun(
            client: client,
            id: id,
            image: image,
            directory: directory,
            outputs: (stdout: "\(directory)/stdout", stderr: "\(directory)/stderr")
        )
    }

    /// Removes the containers and directories of runs a crash interrupted (this server's alone,
    /// by label). An engine that does not answer has nothing to remove yet.
    public func removeLeftovers() async {
        try? FileManager.default.removeItem(atPath: configuration.workRoot)
        guard let client = try? await configuration.engine.client(),
            let orphans = try? await client.containers(label: "\(Self.instanceLabel)=\(configuration.instance)")
        else { return }
        for orphan in orphans { try? await client.removeContainer(orphan.id) }
    }

    /// The interpreter's name in the image (found on the image's PATH).
    static func interpreter(for type: EventType) -> String {
        switch type {
        case .python: "python3"
        case .nodejs: "node"
        case .bash, .httpRequest, .toolAction: "bash"
        }
    }

    /// The FIFOs in the run's directory that the script's stdout and stderr go to.
    static let outputs = ["stdout", "stderr"]

    /// The run's directory: its script and the helper libraries, readable by the container's user
    /// (the directory itself is mounted read-only), the output FIFOs, and an empty file where the
    /// runtime socket is mounted over (a read-only mount cannot get a new mount point).
    static func writeRunDirectory(_ directory: String, root: String, script: (name: String, content: String), runtime: Bool) throws {
        let manager = FileManager.default
        try manager.createDirectory(atPath: root, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o711])
        try manager.createDirectory(atPath: directory, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o755])
        var files = [(path: script.name, contents: Array(script.content.utf8))]
        if runtime {
            files += HelperFiles.all.map { ("helpers/\($0.path)", $0.contents) }
            files.append(("runtime.sock", []))
        }
        try HelperDirectory.write(files, under: directory)
        for name in outputs where mkfifo("\(directory)/\(name)", 0o600) != 0 {
            throw IsolationError(cannot: "make \(directory)/\(name)")
        }
    }

    /// Lets the container's user use the run's socket or FIFO: its own when the server may give it
    /// away (root), else anyone's who knows its unguessable path, in a directory no one may list
    /// (the socket still needs the run's token).
    static func handOver(_ path: String) throws {
        if chown(path, userID, userID) != 0 {
            guard chmod(path, 0o666) == 0 else { throw IsolationError(cannot: "open \(path) to the container") }
        }
    }
}

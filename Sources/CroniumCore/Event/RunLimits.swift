/// Resources one run may use, in the sandbox or in a container. A field left out takes the
/// server's default for the run's placement; a value above the server's maximum is refused when
/// the event is saved.
public struct RunLimits: Codable, Sendable, Equatable {
    /// Memory of all the run's processes together, in MiB (its work directory and /tmp included,
    /// since they live in memory).
    public var memoryMB: Int?
    /// Processes and threads the run may have at once.
    public var processes: Int?
    /// Open files per process.
    public var openFiles: Int?
    /// Size of the work directory, and separately of /tmp, in MiB.
    public var diskMB: Int?
    /// CPUs a container run may use (0.5 is half of one); container runs only.
    public var cpus: Double?

    public init(memoryMB: Int? = nil, processes: Int? = nil, openFiles: Int? = nil, diskMB: Int? = nil, cpus: Double? = nil) {
        self.memoryMB = memoryMB
        self.processes = processes
        self.openFiles = openFiles
        self.diskMB = diskMB
        self.cpus = cpus
    }

    /// Built-in defaults, and the smallest values that still let an interpreter start.
    public static let defaults = RunLimits(memoryMB: 512, processes: 256, openFiles: 1024, diskMB: 256)
    public static let minimums = RunLimits(memoryMB: 32, processes: 8, openFiles: 32, diskMB: 1)
    /// The maxima a server allows unless its operator says otherwise.
    public static let defaultMaxima = RunLimits(memoryMB: 8192, processes: 4096, openFiles: 65536, diskMB: 8192, cpus: 4)
    /// A container run's defaults: less than a local run's, since a container costs more to start
    /// and is meant for untrusted code.
    public static let containerDefaults = RunLimits(memoryMB: 512, processes: 128, openFiles: 1024, diskMB: 256, cpus: 0.5)
    /// The fewest CPUs a container may get (the engines refuse less than 0.01).
    public static let minimumCPUs = 0.01

    /// Each field of `self`, else of `fallback`.
    public func filled(from fallback: RunLimits) -> RunLimits {
        RunLimits(
            memoryMB: memoryMB ?? fallback.memoryMB,
            processes: processes ?? fallback.processes,
            openFiles: openFiles ?? fallback.openFiles,
            diskMB: diskMB ?? fallback.diskMB,
            cpus: cpus ?? fallback.cpus
        )
    }

    /// Each field no higher than the same field of `maxima` (where both are set).
    public func capped(by maxima: RunLimits) -> RunLimits {
        func capped(_ value: Int?, _ maximum: Int?) -> Int? { value.map { min($0, maximum ?? $0) } }
        return RunLimits(
            memoryMB: capped(memoryMB, maxima.memoryMB),
            processes: capped(processes, maxima.processes),
            openFiles: capped(openFiles, maxima.openFiles),
            diskMB: capped(diskMB, maxima.diskMB),
            cpus: cpus.map { min($0, maxima.cpus ?? $0) }
        )
    }

    /// Every field below the minimum or above `maxima`, named as `<field>.<name>`.
    public func problems(field: String, maxima: RunLimits) -> [FieldProblem] {
        let checks: [(String, Int?, Int?, Int?, String)] = [
            ("memoryMB", memoryMB, Self.minimums.memoryMB, maxima.memoryMB, "MiB"),
            ("processes", processes, Self.minimums.processes, maxima.processes, "processes"),
            ("openFiles", openFiles, Self.minimums.openFiles, maxima.openFiles, "files"),
            ("diskMB", diskMB, Self.minimums.diskMB, maxima.diskMB, "MiB"),
        ]
        var problems: [FieldProblem] = []
        for (name, value, minimum, maximum, unit) in checks {
            guard let value, let minimum, let maximum else { continue }
            if value < minimum || value > maximum {
                problems.append(.init(field: "\(field).\(name)", message: "must be between \(minimum) and \(maximum) \(unit) on this server"))
            }
        }
        if let cpus, let maximum = maxima.cpus, !(Self.minimumCPUs...maximum).contains(cpus) {
            problems.append(
                .init(
                    field: "\(field).cpus",
                    message:
                        "must be between \(Self.minimumCPUs) and \(maximum == maximum.rounded() ? String(Int(maximum)) : String(maximum)) CPUs on this server"
                )
            )
        }
        return problems
    }
}

/// `--sandbox`: how strict the server is about bubblewrap.
public enum SandboxMode: String, Sendable, CaseIterable {
    /// Use bubblewrap when it works here; otherwise run without it and say so at start-up.
    case auto
    /// Refuse to start without a working sandbox.
    case required
    case off
}

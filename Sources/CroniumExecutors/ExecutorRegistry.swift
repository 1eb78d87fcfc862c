import CroniumCore

/// Which executor runs an event: chosen by where the run happens (its ``RunLocation``), then by
/// its type. "A Python script in a container" and "a Bash script on three hosts" are each one
/// entry; a location this server cannot serve has none, and events asking for it are refused.
public struct ExecutorRegistry: Sendable {
    private var executors: [RunLocation: [EventType: any Executor]] = [:]

    public init() {}

    /// Runs `types` at `location` with `executor`, replacing what was there.
    public mutating func register(_ executor: any Executor, at location: RunLocation, for types: [EventType]) {
        for type in types { executors[location, default: [:]][type] = executor }
        all.append(executor)
    }

    /// Each executor as it was registered (once per ``register(_:at:for:)`` call).
    public private(set) var all: [any Executor] = []

    public func executor(at location: RunLocation, for type: EventType) -> (any Executor)? {
        executors[location]?[type]
    }

    /// Why this server cannot run `event`, as a sentence; nil when it can.
    public func problem(running event: Event) -> String? {
        guard executor(at: event.runLocation, for: event.type) == nil else { return nil }
        let served = executors.filter { !$0.value.isEmpty }.keys.map(\.rawValue).sorted()
        if executors[event.runLocation]?.isEmpty ?? true {
            return "this server cannot run events at \(event.runLocation.rawValue); it runs them at \(served.joined(separator: ", "))"
        }
        return "this server cannot run \(event.type.rawValue) events at \(event.runLocation.rawValue)"
    }

    /// The local process executor for scripts and the HTTP executor for requests, both on this
    /// machine, and scripts in containers when a container executor is given.
    public static func standard(
        local: LocalProcessExecutor,
        http: HTTPRequestExecutor = HTTPRequestExecutor(),
        container: ContainerExecutor? = nil
    ) -> ExecutorRegistry {
        var registry = ExecutorRegistry()
        registry.register(local, at: .local, for: EventType.allCases.filter(\.isScript))
        registry.register(http, at: .local, for: [.httpRequest])
        if let container { registry.register(container, at: .container, for: EventType.allCases.filter(\.isScript)) }
        return registry
    }
}

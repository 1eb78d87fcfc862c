import Foundation

/// Where one node of a workflow run stands.
public enum NodeState: Sendable, Equatable {
    case pending
    case running
    /// Its run ended (for good: after its retries).
    case ended(ExecutionStatus, condition: Bool?)
    /// It will not run, and why.
    case skipped(reason: String)
    /// The workflow run was cancelled before the node started.
    case cancelled

    /// Ended, skipped or cancelled: its outgoing connections are decided.
    public var isResolved: Bool {
        switch self {
        case .pending, .running: false
        case .ended, .skipped, .cancelled: true
        }
    }
}

/// How a workflow run stands, or ended.
public enum WorkflowRunStatus: String, Sendable, ClosedSetCodable {
    /// Waits for the workflow's run before it to end (overlap policy `queue`); nothing started yet.
    case queued = "QUEUED"
    case running = "RUNNING"
    /// Every node that ran succeeded.
    case success = "SUCCESS"
    /// A node did not succeed, and no `ON_FAILURE` connection out of it handled that.
    case failure = "FAILURE"
    /// Nodes failed, and each failure was handled by an `ON_FAILURE` connection out of it.
    case partial = "PARTIAL"
    case cancelled = "CANCELLED"

    /// It has ended: nothing of it runs or waits any more.
    public var isFinal: Bool { self != .queued && self != .running }
}

/// The decisions of one workflow run, and nothing else: which nodes start when the run begins
/// and each time a node ends, which are skipped and why. A node is decided once all its incoming
/// connections are resolved (their node ended, was skipped or was cancelled): it runs when any of
/// them holds (`join: any`), or all (`join: all`); otherwise it is skipped, naming the connection
/// that did not hold, and so is everything only it could have started. Nothing is left pending.
///
/// Pure: the engine keeps the states in the store and rebuilds this from them after a restart.
public struct WorkflowProgress: Sendable {
    public let graph: WorkflowGraph
    public private(set) var states: [String: NodeState]
    /// Set by ``cancel()``.
    public private(set) var cancelled: Bool

    /// What one decision changed.
    public struct Step: Sendable, Equatable {
        /// Nodes to start now, in the order written.
        public var start: [String] = []
        /// Nodes skipped now, with why.
        public var skipped: [Skip] = []

        public init(start: [String] = [], skipped: [Skip] = []) {
            self.start = start
            self.skipped = skipped
        }
    }

    public struct Skip: Sendable, Equatable {
        public var key: String
        public var reason: String

        public init(key: String, reason: String) {
            self.key = key
            self.reason = reason
        }
    }

    /// A run's progress; `states` (from the store) for one under way, every node pending otherwise.
    public init(graph: WorkflowGraph, states: [String: NodeState] = [:], cancelled: Bool = false) {
        self.graph = graph
        self.states = Dictionary(uniqueKeysWithValues: graph.nodes.map { ($0.key, states[$0.key] ?? .pending) })
        self.cancelled = cancelled
    }

    public func state(of key: String) -> NodeState { states[key] ?? .pending }

    /// The run begins: every root starts.
    public mutating func begin() -> Step {
        let roots = graph.roots.filter { state(of: $0) == .pending }
        for key in roots { states[key] = .running }
        return Step(start: roots)
    }

    /// Node `key`'s run ended: the nodes it decides start or are skipped.
    public mutating func end(_ key: String, status: ExecutionStatus, condition: Bool?) -> Step {
        states[key] = .ended(status, condition: condition)
        return decide(after: [key])
    }

    /// Cancels the run: nodes not started are cancelled; returns the running ones, to stop (their
    /// ends come back through ``end(_:status:condition:)``, and decide nothing more).
    public mutating func cancel() -> [String] {
        cancelled = true
        for node in graph.nodes where state(of: node.key) == .pending { states[node.key] = .cancelled }
        return graph.nodes.map(\.key).filter { state(of: $0) == .running }
    }

    /// Every node has ended, was skipped or was cancelled.
    public var isFinished: Bool { states.values.allSatisfy(\.isResolved) }

    /// The run's status by the rule: cancelled; running while a node is pending or running;
    /// success when every node that ran succeeded; partial when nodes failed and each had an
    /// `ON_FAILURE` connection that handled it; failure otherwise.
    public var status: WorkflowRunStatus {
        if cancelled { return .cancelled }
        guard isFinished else { return .running }
        var handled = true
        var failed = false
        for node in graph.nodes {
            guard case .ended(let status, _) = state(of: node.key), status != .success else { continue }
            failed = true
            if !graph.outgoing(from: node.key).contains(where: { $0.when == .onFailure && $0.when.holds(after: status, condition: nil) }) {
                handled = false
            }
        }
        return !failed ? .success : handled ? .partial : .failure
    }

    /// The connections into `key` that held: whose nodes' outputs it receives.
    public func held(into key: String) -> [WorkflowConnection] {
        graph.incoming(to: key).filter { holds($0) }
    }

    private func holds(_ connection: WorkflowConnection) -> Bool {
        guard case .ended(let status, let condition) = state(of: connection.from) else { return false }
        return connection.when.holds(after: status, condition: condition)
    }

    /// What a connection's node did, for a skipped node's reason.
    private func outcome(of key: String) -> String {
        switch state(of: key) {
        case .ended(let status, let condition): "\(key) ended \(status.rawValue)\(condition == true ? " (condition true)" : "")"
        case .skipped: "\(key) was skipped"
        case .cancelled: "\(key) was cancelled"
        case .pending, .running: "\(key) has not ended"
        }
    }

    /// Decides the nodes after `resolved`, and after each node skipped on the way.
    private mutating func decide(after resolved: [String]) -> Step {
        var step = Step()
        var frontier = resolved
        while !frontier.isEmpty {
            let next = Set(frontier.flatMap { graph.outgoing(from: $0).map(\.to) })
            frontier = []
            // In the order written, so a run's decisions read the same every time.
            for node in graph.nodes where next.contains(node.key) && cancelled == false && state(of: node.key) == .pending {
                let connections = graph.incoming(to: node.key)
                guard connections.allSatisfy({ state(of: $0.from).isResolved }) else { continue }
                let failing = connections.filter { !holds($0) }
                let runs = node.effectiveJoin == .any ? failing.count < connections.count : failing.isEmpty
                if runs {
                    states[node.key] = .running
                    step.start.append(node.key)
                } else {
                    let why = failing.map { "\($0.label) did not hold: \(outcome(of: $0.from))" }.joined(separator: "; ")
                    let reason = node.effectiveJoin == .all && connections.count > 1 ? "join all: \(why)" : why
                    states[node.key] = .skipped(reason: reason)
                    step.skipped.append(Skip(key: node.key, reason: reason))
                    frontier.append(node.key)
                }
            }
        }
        return step
    }

    /// A node's input: the trigger's for a root; the output of the one node whose connection held,
    /// or an object keyed by node for several; the node's own `input` merged on top (an object's
    /// keys over an object's; anything else replaces).
    public func input(for key: String, trigger: JSONValue?, outputs: [String: JSONValue]) -> JSONValue? {
        let parents = held(into: key).map(\.from).reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }
        let arrived: JSONValue? =
            if graph.incoming(to: key).isEmpty {
                trigger
            } else if parents.count > 1 {
                .object(Dictionary(uniqueKeysWithValues: parents.map { ($0, outputs[$0] ?? .null) }))
            } else {
                parents.first.map { outputs[$0] ?? .null } ?? .null
            }
        guard let override = graph.node(key)?.input else { return arrived }
        if case .object(var merged) = arrived ?? .null, case .object(let own) = override {
            merged.merge(own) { _, mine in mine }
            return .object(merged)
        }
        return override
    }
}

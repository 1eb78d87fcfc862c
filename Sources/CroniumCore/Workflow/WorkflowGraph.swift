import Foundation

/// A workflow's nodes and connections as a graph: its roots, each node's connections in and out,
/// and what is wrong with it. A workflow is saved only when ``problems()`` is empty.
public struct WorkflowGraph: Sendable {
    public let nodes: [WorkflowNode]
    public let connections: [WorkflowConnection]
    private let index: [String: Int]
    private let incoming: [String: [WorkflowConnection]]
    private let outgoing: [String: [WorkflowConnection]]

    /// The most nodes one workflow may have.
    public static let maxNodes = 200

    public init(nodes: [WorkflowNode], connections: [WorkflowConnection]) {
        self.nodes = nodes
        self.connections = connections
        index = Dictionary(nodes.enumerated().map { ($1.key, $0) }, uniquingKeysWith: { first, _ in first })
        incoming = Dictionary(grouping: connections, by: \.to)
        outgoing = Dictionary(grouping: connections, by: \.from)
    }

    public func node(_ key: String) -> WorkflowNode? { index[key].map { nodes[$0] } }
    public func incoming(to key: String) -> [WorkflowConnection] { incoming[key] ?? [] }
    public func outgoing(from key: String) -> [WorkflowConnection] { outgoing[key] ?? [] }

    /// The nodes nothing leads to, in the order they were written: a run starts all of them at once.
    public var roots: [String] { nodes.map(\.key).filter { incoming(to: $0).isEmpty } }

    /// Everything that keeps the graph from running, each on the field it is about: keys that are
    /// empty, malformed or written twice; connections to or from no node, to themselves, or
    /// written twice; cycles, named as a path; nodes no root reaches.
    public func problems() -> [FieldProblem] {
        var problems: [FieldProblem] = []
        if nodes.isEmpty { problems.append(.init(field: "nodes", message: "a workflow needs at least one node")) }
        if nodes.count > Self.maxNodes {
            problems.append(.init(field: "nodes", message: "a workflow has at most \(Self.maxNodes) nodes, not \(nodes.count)"))
        }
        var seen: Set<String> = []
        for (position, node) in nodes.enumerated() {
            if !Self.isValidKey(node.key) {
                problems.append(
                    .init(
                        field: "nodes[\(position)].key",
                        message: "'\(node.key)' is not a key: use letters, digits, - and _ (at most 64), starting with a letter"
                    )
                )
            } else if !seen.insert(node.key).inserted {
                problems.append(.init(field: "nodes[\(position)].key", message: "'\(node.key)' is the key of another node already"))
            }
        }
        var written: Set<WorkflowConnection> = []
        for (position, connection) in connections.enumerated() {
            let field = "connections[\(position)]"
            if index[connection.from] == nil {
                problems.append(.init(field: "\(field).from", message: "there is no node '\(connection.from)'"))
            }
            if index[connection.to] == nil {
                problems.append(.init(field: "\(field).to", message: "there is no node '\(connection.to)'"))
            }
            if connection.from == connection.to {
                problems.append(.init(field: field, message: "'\(connection.from)' cannot lead to itself"))
            } else if !written.insert(connection).inserted {
                problems.append(.init(field: field, message: "\(connection.label) is written twice"))
            }
        }
        // Cycles and reach only mean something once every connection joins two nodes.
        guard !problems.contains(where: { $0.field.hasPrefix("connections") }) else { return problems }
        if let cycle = firstCycle() {
            problems.append(.init(field: "connections", message: "the connections make a cycle: \(cycle.joined(separator: " → "))"))
        }
        // Only a cycle hides a node from every root: a node on one, or behind one.
        let reached = reachable(from: roots)
        for (position, node) in nodes.enumerated() where !reached.contains(node.key) {
            problems.append(.init(field: "nodes[\(position)]", message: "no root reaches '\(node.key)' (a node nothing leads to starts a run)"))
        }
        return problems
    }

    /// `check`, `clean-up_2`: what a node's key may be.
    public static func isValidKey(_ key: String) -> Bool {
        guard let first = key.unicodeScalars.first, key.unicodeScalars.count <= 64, CharacterSet.letters.contains(first), first.isASCII else {
            return false
        }
        return key.unicodeScalars.allSatisfy { $0.isASCII && (CharacterSet.alphanumerics.contains($0) || $0 == "-" || $0 == "_") }
    }

    /// A cycle as the path of its keys, the first node again at the end (`a → b → a`); nil when
    /// there is none. Depth first from each node in the order written, so the answer is stable.
    func firstCycle() -> [String]? {
        enum Mark { case visiting, done }
        var marks: [String: Mark] = [:]
        var path: [String] = []
        func visit(_ key: String) -> [String]? {
            switch marks[key] {
            case .done: return nil
            case .visiting:
                let start = path.firstIndex(of: key) ?? 0
                return Array(path[start...]) + [key]
            case nil: break
            }
            marks[key] = .visiting
            path.append(key)
            for connection in outgoing(from: key) {
                if let cycle = visit(connection.to) { return cycle }
            }
            path.removeLast()
            marks[key] = .done
            return nil
        }
        for node in nodes {
            if let cycle = visit(node.key) { return cycle }
        }
        return nil
    }

    /// Every node reachable from `starts` along connections, `starts` included.
    func reachable(from starts: [String]) -> Set<String> {
        var reached = Set(starts)
        var frontier = starts
        while let key = frontier.popLast() {
            for connection in outgoing(from: key) where reached.insert(connection.to).inserted {
                frontier.append(connection.to)
            }
        }
        return reached
    }
}

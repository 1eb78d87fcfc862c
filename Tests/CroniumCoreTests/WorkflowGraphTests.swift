import CroniumCore
import Testing

@Suite struct WorkflowGraphTests {
    static func graph(_ keys: [String], _ connections: [(String, String)], when: ActionCondition = .onSuccess) -> WorkflowGraph {
        WorkflowGraph(
            nodes: keys.map { WorkflowNode(key: $0) },
            connections: connections.map { WorkflowConnection(from: $0.0, to: $0.1, when: when) }
        )
    }

    @Test func aDiamondIsValidWithOneRoot() {
        let graph = Self.graph(["a", "b", "c", "d"], [("a", "b"), ("a", "c"), ("b", "d"), ("c", "d")])
        #expect(graph.problems().isEmpty)
        #expect(graph.roots == ["a"])
        #expect(graph.incoming(to: "d").map(\.from) == ["b", "c"])
    }

    /// A cycle is named as a path, and the nodes it hides from every root are named too.
    @Test func aCycleIsNamedAsItsPath() {
        let graph = Self.graph(["start", "a", "b", "c"], [("start", "a"), ("b", "c"), ("c", "b")])
        #expect(
            graph.problems() == [
                FieldProblem(field: "connections", message: "the connections make a cycle: b → c → b"),
                FieldProblem(field: "nodes[2]", message: "no root reaches 'b' (a node nothing leads to starts a run)"),
                FieldProblem(field: "nodes[3]", message: "no root reaches 'c' (a node nothing leads to starts a run)"),
            ]
        )
        let loop = Self.graph(["a", "b", "c"], [("a", "b"), ("b", "c"), ("c", "a")])
        #expect(loop.problems().first?.message == "the connections make a cycle: a → b → c → a")
        #expect(loop.roots.isEmpty)
    }

    @Test func badKeysAndConnectionsNameTheirFields() {
        let graph = Self.graph(["check", "check", "2nd", "with space", ""], [("check", "nowhere"), ("ghost", "check"), ("check", "check")])
        #expect(
            graph.problems() == [
                FieldProblem(field: "nodes[1].key", message: "'check' is the key of another node already"),
                FieldProblem(field: "nodes[2].key", message: "'2nd' is not a key: use letters, digits, - and _ (at most 64), starting with a letter"),
                FieldProblem(
                    field: "nodes[3].key",
                    message: "'with space' is not a key: use letters, digits, - and _ (at most 64), starting with a letter"
                ),
                FieldProblem(field: "nodes[4].key", message: "'' is not a key: use letters, digits, - and _ (at most 64), starting with a letter"),
                FieldProblem(field: "connections[0].to", message: "there is no node 'nowhere'"),
                FieldProblem(field: "connections[1].from", message: "there is no node 'ghost'"),
                FieldProblem(field: "connections[2]", message: "'check' cannot lead to itself"),
            ]
        )
        let twice = Self.graph(["a", "b"], [("a", "b"), ("a", "b")])
        #expect(twice.problems() == [FieldProblem(field: "connections[1]", message: "a -[ON_SUCCESS]-> b is written twice")])
        #expect(Self.graph([], []).problems() == [FieldProblem(field: "nodes", message: "a workflow needs at least one node")])
        #expect(
            WorkflowGraph.isValidKey("clean-up_2") && !WorkflowGraph.isValidKey("é") && !WorkflowGraph.isValidKey(String(repeating: "a", count: 65))
        )
    }
}

@Suite struct WorkflowProgressTests {
    typealias Skip = WorkflowProgress.Skip

    /// A → B, A → C, B + C → D: B and C start together; D waits for both and gets both outputs,
    /// keyed by node.
    @Test func aDiamondRunsItsBranchesTogetherAndJoinsTheirOutputs() {
        var progress = WorkflowProgress(graph: WorkflowGraphTests.graph(["a", "b", "c", "d"], [("a", "b"), ("a", "c"), ("b", "d"), ("c", "d")]))
        #expect(progress.begin() == .init(start: ["a"]))
        #expect(progress.input(for: "a", trigger: .object(["n": .integer(2)]), outputs: [:]) == .object(["n": .integer(2)]))
        #expect(progress.end("a", status: .success, condition: nil) == .init(start: ["b", "c"]))
        #expect(progress.input(for: "b", trigger: nil, outputs: ["a": .integer(4)]) == .integer(4))
        #expect(progress.end("c", status: .success, condition: nil) == .init())
        #expect(progress.status == .running)
        #expect(progress.end("b", status: .success, condition: nil) == .init(start: ["d"]))
        #expect(
            progress.input(for: "d", trigger: nil, outputs: ["b": .string("B"), "c": .string("C")])
                == .object(["b": .string("B"), "c": .string("C")])
        )
        #expect(progress.end("d", status: .success, condition: nil) == .init())
        #expect(progress.isFinished && progress.status == .success)
    }

    static func branches() -> WorkflowProgress {
        WorkflowProgress(
            graph: WorkflowGraph(
                nodes: ["check", "cleanup", "report", "notify"].map { WorkflowNode(key: $0) },
                connections: [
                    WorkflowConnection(from: "check", to: "cleanup", when: .onFailure),
                    WorkflowConnection(from: "check", to: "report", when: .onSuccess),
                    WorkflowConnection(from: "check", to: "notify", when: .onCondition),
                ]
            )
        )
    }

    /// The failure branch runs only when its node failed; what only the other branches lead to is
    /// skipped with the connection that did not hold; a handled failure ends the run PARTIAL.
    @Test func aFailureTakesTheFailureBranchAndEndsPartial() {
        var progress = Self.branches()
        _ = progress.begin()
        #expect(
            progress.end("check", status: .timeout, condition: nil)
                == .init(
                    start: ["cleanup"],
                    skipped: [
                        Skip(key: "report", reason: "check -[ON_SUCCESS]-> report did not hold: check ended TIMEOUT"),
                        Skip(key: "notify", reason: "check -[ON_CONDITION]-> notify did not hold: check ended TIMEOUT"),
                    ]
                )
        )
        _ = progress.end("cleanup", status: .success, condition: nil)
        #expect(progress.status == .partial)
    }

    @Test func successAndAConditionTakeTheirBranches() {
        var progress = Self.branches()
        _ = progress.begin()
        let step = progress.end("check", status: .success, condition: true)
        #expect(step.start == ["report", "notify"] && step.skipped.map(\.key) == ["cleanup"])
        _ = progress.end("report", status: .success, condition: nil)
        _ = progress.end("notify", status: .success, condition: nil)
        #expect(progress.status == .success)
    }

    /// `join: any` runs when one connection holds; `join: all` needs every one, and says which did not.
    @Test(arguments: [NodeJoin.any, .all])
    func joinDecidesOnceEveryConnectionIsResolved(join: NodeJoin) {
        var progress = WorkflowProgress(
            graph: WorkflowGraph(
                nodes: [WorkflowNode(key: "a"), WorkflowNode(key: "b"), WorkflowNode(key: "c", join: join)],
                connections: [WorkflowConnection(from: "a", to: "c"), WorkflowConnection(from: "b", to: "c")]
            )
        )
        #expect(progress.begin().start == ["a", "b"])
        #expect(progress.end("b", status: .success, condition: nil) == .init())
        let step = progress.end("a", status: .failure, condition: nil)
        switch join {
        case .any:
            #expect(step == .init(start: ["c"]))
            #expect(progress.input(for: "c", trigger: nil, outputs: ["a": .integer(1), "b": .integer(2)]) == .integer(2))
        case .all:
            #expect(step == .init(skipped: [Skip(key: "c", reason: "join all: a -[ON_SUCCESS]-> c did not hold: a ended FAILURE")]))
        }
        // a failed and nothing handled it.
        if join == .any { _ = progress.end("c", status: .success, condition: nil) }
        #expect(progress.isFinished && progress.status == .failure)
    }

    /// Skipping spreads to what only a skipped node could start: nothing is left pending.
    @Test func skippingSpreadsAndLeavesNothingPending() {
        var progress = WorkflowProgress(graph: WorkflowGraphTests.graph(["a", "b", "c", "d"], [("a", "b"), ("b", "c"), ("a", "d")]))
        _ = progress.begin()
        let step = progress.end("a", status: .failure, condition: nil)
        #expect(step.start.isEmpty)
        #expect(
            step.skipped == [
                Skip(key: "b", reason: "a -[ON_SUCCESS]-> b did not hold: a ended FAILURE"),
                Skip(key: "d", reason: "a -[ON_SUCCESS]-> d did not hold: a ended FAILURE"),
                Skip(key: "c", reason: "b -[ON_SUCCESS]-> c did not hold: b was skipped"),
            ]
        )
        #expect(progress.isFinished && progress.status == .failure)
    }

    @Test func cancellingStopsWhatRunsAndCancelsTheRest() {
        var progress = WorkflowProgress(graph: WorkflowGraphTests.graph(["a", "b"], [("a", "b")]))
        _ = progress.begin()
        #expect(progress.cancel() == ["a"])
        #expect(progress.state(of: "b") == .cancelled)
        #expect(progress.end("a", status: .cancelled, condition: nil) == .init())
        #expect(progress.isFinished && progress.status == .cancelled)
    }

    /// Rebuilt from stored states after a restart, a run goes on where it was.
    @Test func aRunRebuiltFromItsStatesGoesOn() {
        let graph = WorkflowGraphTests.graph(["a", "b", "c", "d"], [("a", "b"), ("a", "c"), ("b", "d"), ("c", "d")])
        var progress = WorkflowProgress(
            graph: graph,
            states: ["a": .ended(.success, condition: nil), "b": .ended(.success, condition: nil), "c": .running]
        )
        #expect(progress.begin() == .init())
        #expect(progress.end("c", status: .success, condition: nil) == .init(start: ["d"]))
    }

    /// A node's own input is merged over what arrives: an object's keys over an object's;
    /// anything else replaces it.
    @Test func aNodesInputIsMergedOverWhatArrives() {
        let graph = WorkflowGraph(
            nodes: [
                WorkflowNode(key: "a"), WorkflowNode(key: "b", input: .object(["limit": .integer(5)])),
                WorkflowNode(key: "c", input: .string("fixed")),
            ],
            connections: [WorkflowConnection(from: "a", to: "b"), WorkflowConnection(from: "a", to: "c")]
        )
        var progress = WorkflowProgress(graph: graph)
        _ = progress.begin()
        _ = progress.end("a", status: .success, condition: nil)
        let outputs: [String: JSONValue] = ["a": .object(["limit": .integer(1), "path": .string("/var")])]
        #expect(progress.input(for: "b", trigger: nil, outputs: outputs) == .object(["limit": .integer(5), "path": .string("/var")]))
        #expect(progress.input(for: "c", trigger: nil, outputs: outputs) == .string("fixed"))
        // A node that ran without output hands on null.
        #expect(progress.input(for: "b", trigger: nil, outputs: [:]) == .object(["limit": .integer(5)]))
        // Before any connection into it held, only its own input.
        #expect(WorkflowProgress(graph: graph).input(for: "b", trigger: nil, outputs: [:]) == .object(["limit": .integer(5)]))
    }
}

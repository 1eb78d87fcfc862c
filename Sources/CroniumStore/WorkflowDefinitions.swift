import CroniumCore
import Foundation
import Synchronization

/// The definitions workflow runs started with, decoded, by run. A run's definition never changes
/// once it is written, so the transaction that records a node's end and the one that starts its
/// successor need not read and decode it again each time. An entry names its run's workflow and
/// start time too, checked against the row read: an id that a rolled-back transaction gave out
/// and a later run got again does not find the other run's definition. Bounded: past
/// ``capacity`` runs, the oldest entries go (read again if their run goes on).
///
/// It also keeps each run's node states as last decoded or written, with their JSON text: a run's
/// every node end reads and decodes all of them (40 nodes: about 0.25 ms a node's end, measured in
/// the engine). A text equal to the one remembered decodes to the same values, so equality is the
/// whole check. Kept for running runs only, at most ``nodeStatesCapacity`` (outputs can be large).
final class WorkflowDefinitions: Sendable {
    static let capacity = 512
    static let nodeStatesCapacity = 64
    private let entries = Mutex<(byRun: [WorkflowRunID: WorkflowRun.Origin], order: [WorkflowRunID])>(([:], []))
    private let nodeStates = Mutex<[WorkflowRunID: (text: String, nodes: [WorkflowRunNode])]>([:])

    /// The node states in `text`, decoded once per text.
    func nodes(of run: WorkflowRunID, text: String) throws -> [WorkflowRunNode] {
        if let known = nodeStates.withLock({ $0[run] }), known.text == text { return known.nodes }
        let nodes = try Database.fromJSON([WorkflowRunNode].self, text)
        remember(nodes: nodes, text: text, of: run)
        return nodes
    }

    func remember(nodes: [WorkflowRunNode], text: String, of run: WorkflowRunID) {
        nodeStates.withLock { states in
            // Past the bound the oldest are not known, so all go: the runs going on are read again.
            if states[run] == nil, states.count >= Self.nodeStatesCapacity { states.removeAll() }
            states[run] = (text, nodes)
        }
    }

    func forgetNodes(of run: WorkflowRunID) { _ = nodeStates.withLock { $0.removeValue(forKey: run) } }

    /// The definition of `run`, when remembered for a run with the same workflow and start.
    func definition(of run: WorkflowRun) -> Workflow? {
        entries.withLock { entries in
            guard let origin = entries.byRun[run.id], origin.workflowId == run.workflowId, origin.createdAt == run.createdAt else { return nil }
            return origin.definition
        }
    }

    func remember(_ definition: Workflow, of run: WorkflowRun) {
        entries.withLock { entries in
            let origin = WorkflowRun.Origin(workflowId: run.workflowId, createdAt: run.createdAt, definition: definition)
            guard entries.byRun.updateValue(origin, forKey: run.id) == nil else { return }
            entries.order.append(run.id)
            if entries.order.count > Self.capacity {
                let gone = entries.order.prefix(entries.order.count - Self.capacity / 2)
                for id in gone { entries.byRun[id] = nil }
                entries.order.removeFirst(gone.count)
            }
        }
    }
}

extension WorkflowRun {
    /// What a run started from: its workflow, when, and the definition.
    struct Origin: Sendable {
        var workflowId: WorkflowID
        var createdAt: Date
        var definition: Workflow
    }
}

/// What a schedule or an incoming webhook starts: an event, or a workflow. Events and workflows
/// share one scheduler and one timetable, so fires of both at one instant are served together.
public enum RunTarget: Hashable, Sendable, CustomStringConvertible {
    case event(EventID)
    case workflow(WorkflowID)

    public var description: String {
        switch self {
        case .event(let id): "event \(id)"
        case .workflow(let id): "workflow \(id)"
        }
    }
}

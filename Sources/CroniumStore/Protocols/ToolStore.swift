import CroniumCore
import Foundation

/// Tools (credentials as the engine sealed them) and the deliveries of messages through them.
public protocol ToolStore: Sendable {
    /// The user's own tools and the shared ones, by name.
    func tools(usableBy userId: UserID) async throws -> [StoredTool]
    /// The tool `name` for `userId`: their own, or else a shared one of that name.
    func tool(named name: String, usableBy userId: UserID) async throws -> StoredTool?
    /// Stores a new tool (id 0) or replaces one; a name the owner already uses is a conflict.
    func saveTool(_ stored: StoredTool) async throws -> Tool
    /// Whether the owner had such a tool.
    func deleteTool(ownerId: UserID, name: String) async throws -> Bool
    /// Records a delivery that its sender tries itself (a `TOOL_ACTION` run): it is not left
    /// pending for the delivery worker.
    func recordDelivery(_ delivery: Delivery) async throws -> DeliveryID
    /// Messages not yet tried to the end, oldest first, but those in `excluded` (being tried now)
    /// and those through the tools in `excludedTools` (owner and tool name: tools busy enough).
    func pendingDeliveries(excluding excluded: Set<DeliveryID>, excludingTools excludedTools: [(owner: UserID, tool: String)], limit: Int)
        async throws -> [Delivery]
    /// Records how a delivery ended, and the action that sent it with it: fired when delivered,
    /// failed with the far end's words when not.
    func finishDelivery(_ id: DeliveryID, delivered: Bool, attempts: Int, answerStatus: Int?, answer: String?, error: String?, at time: Date)
        async throws
    /// The messages sent about a run, in the order they were asked for.
    func deliveries(of executionId: ExecutionID) async throws -> [Delivery]
    /// The newest messages sent through the tool called `toolName`, of runs `ownerId` owns (nil:
    /// everyone's), newest first.
    func deliveries(toolName: String, ownerId: UserID?, limit: Int) async throws -> [Delivery]
}

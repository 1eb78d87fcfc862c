import Foundation

public typealias DeliveryID = Identifier<Delivery>

/// One message sent through a tool, recorded before it is tried and finished with what the far
/// end answered: the message is not lost when the server stops in between (it is tried again at
/// the next start).
public struct Delivery: Codable, Sendable, Equatable {
    public enum Status: String, Sendable, ClosedSetCodable {
        case pending = "PENDING"
        /// Being tried by its sender (a `TOOL_ACTION` run); a run cut short by a crash leaves it so.
        case sending = "SENDING"
        case delivered = "DELIVERED"
        case failed = "FAILED"
    }

    public var id: DeliveryID
    /// The run the message is about, and the action of it that sent it.
    public var executionId: ExecutionID
    public var actionPosition: Int?
    public var ownerId: UserID
    public var toolName: String
    public var subject: String?
    public var text: String
    /// An email's recipients and HTML alternative.
    public var to: [String]?
    public var html: String?
    public var status: Status
    public var attempts: Int
    /// The far end's last HTTP status, and the start of what it said.
    public var answerStatus: Int?
    public var answer: String?
    public var error: String?
    public var createdAt: Date
    public var finishedAt: Date?

    public init(
        id: DeliveryID = 0,
        executionId: ExecutionID,
        actionPosition: Int?,
        ownerId: UserID,
        toolName: String,
        subject: String?,
        text: String,
        to: [String]? = nil,
        html: String? = nil,
        status: Status = .pending,
        attempts: Int = 0,
        answerStatus: Int? = nil,
        answer: String? = nil,
        error: String? = nil,
        createdAt: Date,
        finishedAt: Date? = nil
    ) {
        self.id = id
        self.executionId = executionId
        self.actionPosition = actionPosition
        self.ownerId = ownerId
        self.toolName = toolName
        self.subject = subject
        self.text = text
        self.to = to
        self.html = html
        self.status = status
        self.attempts = attempts
        self.answerStatus = answerStatus
        self.answer = answer
        self.error = error
        self.createdAt = createdAt
        self.finishedAt = finishedAt
    }
}

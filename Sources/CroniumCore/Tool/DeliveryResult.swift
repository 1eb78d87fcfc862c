/// How one delivery went: every try counted, the far end's last status and answer (cut short),
/// and why it failed, if it did.
public struct DeliveryResult: Codable, Sendable, Equatable {
    public var attempts: Int
    public var status: Int?
    public var response: String?
    public var error: String?

    public var delivered: Bool { error == nil }

    public init(attempts: Int, status: Int? = nil, response: String? = nil, error: String? = nil) {
        self.attempts = attempts
        self.status = status
        self.response = response
        self.error = error
    }
}

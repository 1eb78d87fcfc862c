/// Store failures a caller can act on. Driver errors are logged server-side and never shown to
/// clients, because they may carry SQL or values.
public enum StoreError: Error, Equatable, Sendable, CustomStringConvertible {
    case conflict(String)

    public var description: String {
        switch self {
        case .conflict(let message): message
        }
    }
}

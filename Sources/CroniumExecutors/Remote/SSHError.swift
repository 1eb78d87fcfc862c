/// Why talking to a remote server failed, in words its owner can act on. Never carries a
/// credential: messages name the host, the user and fingerprints only.
public struct SSHError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Code: String, Sendable {
        /// Nothing answered (refused, no route, name not found).
        case unreachable
        /// No answer within the connect timeout.
        case timeout
        /// The host offered a key that is not pinned, and none is pinned yet.
        case hostKeyNotPinned
        /// The host offered a key other than the pinned one.
        case hostKeyChanged
        /// The host refused the credentials.
        case authenticationFailed
        /// The stored private key cannot be read (format, type, passphrase).
        case badPrivateKey
        /// The connection went away (or was closed) while in use.
        case disconnected
        /// The host refused to open a session or to run the command.
        case refused
        /// The circuit breaker of the server is open: recent attempts failed.
        case circuitOpen
    }

    public var code: Code
    public var description: String
    /// For the host-key codes: the key the host offered, as an OpenSSH public key line.
    public var offeredHostKey: String?

    public init(_ code: Code, _ description: String, offeredHostKey: String? = nil) {
        self.code = code
        self.description = description
        self.offeredHostKey = offeredHostKey
    }
}

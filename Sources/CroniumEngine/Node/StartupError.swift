/// Why the server, or a command that opens its data directory, cannot go on: one line a person
/// can act on, and a code for what kind of failure it is.
public struct StartupError: Error, CustomStringConvertible, Sendable {
    public enum Code: Sendable, Equatable {
        /// Another server holds the data directory, or it cannot be opened.
        case dataDirectory
        /// A key (`master.key`, `runtime.key`, `CRONIUM_MASTER_KEY`) is missing, damaged or cannot be written.
        case key
        /// The address or port cannot be listened on.
        case cannotListen
        /// The run boundary asked for cannot be had, or its options are wrong.
        case isolation
        /// The database is of a newer release, cannot be read, or cannot be backed up before an upgrade.
        case database
        /// The directory of the runs' runtime sockets, or a run's listener, cannot be made.
        case runtimeListener
    }

    public let code: Code
    public let description: String

    public init(_ code: Code, _ description: String) {
        self.code = code
        self.description = description
    }
}

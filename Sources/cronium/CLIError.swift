import ArgumentParser
import CroniumCore
import Foundation

/// A failure the user can act on: printed once to stderr without a stack, with its code as the
/// exit status (docs/cli.md#exit-codes).
struct CLIError: Error, CustomStringConvertible {
    let description: String
    var code: Exit = .refused
    init(_ description: String, code: Exit = .refused) {
        self.description = description
        self.code = code
    }
}

extension CLIError: LocalizedError {
    var errorDescription: String? { description }
}

/// The exit statuses scripts can tell apart. `event run --wait` exits with the run's own status.
enum Exit: Int32 {
    /// The server refused the request, or a log stream broke off.
    case refused = 1
    /// The thing does not exist, or the caller may not see it.
    case notFound = 3
    /// No valid credentials, or the role does not allow it.
    case notAllowed = 4
    /// Wrong usage: an unknown option, a bad value, a missing file (sysexits' EX_USAGE).
    case usage = 64
    /// The server could not be reached (sysexits' EX_UNAVAILABLE).
    case unreachable = 69

    /// The exit status for an answer of the server with this HTTP status.
    init(refusal status: Int) {
        self =
            switch status {
            case 404: .notFound
            case 401, 403: .notAllowed
            default: .refused
            }
    }
}

/// Ids on the command line are plain numbers, typed by what they name.
extension Identifier: ExpressibleByArgument {
    public init?(argument: String) { self.init(argument) }
}

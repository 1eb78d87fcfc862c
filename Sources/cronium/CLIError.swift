import ArgumentParser
import CroniumCore
import Foundation

/// A failure the user can act on: printed once to stderr without a stack, with an exit code
/// from ``Exit`` (docs/cli.md#exit-codes).
struct CLIError: Error, CustomStringConvertible {
    let description: String
    var exitCode: Int32 = Exit.refused
    init(_ description: String, exitCode: Int32 = Exit.refused) {
        self.description = description
        self.exitCode = exitCode
    }
}

extension CLIError: LocalizedError {
    var errorDescription: String? { description }
}

/// The exit codes scripts can tell apart. `event run --wait` exits with the run's own status.
enum Exit {
    /// The server refused the request, or a log stream broke off.
    static let refused: Int32 = 1
    /// The thing does not exist, or the caller may not see it.
    static let notFound: Int32 = 3
    /// No valid credentials, or the role does not allow it.
    static let notAllowed: Int32 = 4
    /// Wrong usage: an unknown option, a bad value, a missing file (sysexits' EX_USAGE).
    static let usage: Int32 = 64
    /// The server could not be reached (sysexits' EX_UNAVAILABLE).
    static let unreachable: Int32 = 69
}

/// Ids on the command line are plain numbers, typed by what they name.
extension Identifier: ExpressibleByArgument {
    public init?(argument: String) { self.init(argument) }
}

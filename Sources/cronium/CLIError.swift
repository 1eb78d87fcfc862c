import ArgumentParser
import CroniumCore
import Foundation

/// A failure the user can act on: printed to stderr without a stack, with a non-zero exit code.
struct CLIError: Error, CustomStringConvertible {
    let description: String
    var exitCode: Int32 = 1
    init(_ description: String, exitCode: Int32 = 1) {
        self.description = description
        self.exitCode = exitCode
    }
}

extension CLIError: LocalizedError {
    var errorDescription: String? { description }
}

/// Ids on the command line are plain numbers, typed by what they name.
extension Identifier: ExpressibleByArgument {
    public init?(argument: String) { self.init(argument) }
}

import ArgumentParser
import CroniumRunnerKit
import Foundation

/// Every command names itself (`commandName`): without it ArgumentParser derives each name with
/// `String(describing:)` at every start, and each of those casts scans all of the binary's
/// protocol conformances (about 10 ms of `cronium --version`'s 25 ms).
@main
struct Cronium: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cronium",
        abstract: "Self-hosted automation: scripts and HTTP calls on schedules, with live logs.",
        version: BuildInfo.description,
        subcommands: [
            Serve.self, EventCommand.self, WorkflowCommand.self, LogsCommand.self, ExecutionCommand.self, VariableCommand.self, ScheduleCommand.self,
            UserCommand.self,
            SecretsCommand.self, ImagesCommand.self, ServerCommand.self, ToolCommand.self,
            TokenCommand.self, LoginCommand.self, LogoutCommand.self, VersionCommand.self, CompletionCommand.self, ConfigCommand.self,
            BackupCommand.self, RestoreCommand.self, StatusCommand.self, PurgeCommand.self,
        ]
    )

    /// Runs the command. Every error is printed once, to stderr, and ends with its exit code
    /// (``Exit``); a bad value found while running shows the failing command's own usage, as one
    /// found while parsing does.
    static func main() async {
        let command: any ParsableCommand
        do {
            command = try await asyncParseAsRoot(try commandLine())
        } catch let error as CLIError {
            printError("Error: \(error.description)")
            Foundation.exit(error.code.rawValue)
        } catch {
            exit(withError: error)
        }
        do {
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                var command = command
                try command.run()
            }
        } catch let code as ExitCode {
            Foundation.exit(code.rawValue)
        } catch let error as ValidationError {
            let usage = usageString(for: type(of: command))
            let path = usage.split(separator: " ").prefix { !["[", "<", "-"].contains($0.first) }.joined(separator: " ")
            printError("Error: \(error.message)\nUsage: \(usage)\n  See '\(path) --help' for more information.")
            Foundation.exit(Exit.usage.rawValue)
        } catch let error as CLIError {
            printError("Error: \(error.description)")
            Foundation.exit(error.code.rawValue)
        } catch {
            exit(withError: error)
        }
    }
}

/// The command line's arguments; for `serve`, with the settings of the environment and of the
/// configuration file added (``ServeSettings``).
private func commandLine() throws -> [String] {
    let arguments = Array(CommandLine.arguments.dropFirst())
    guard arguments.first == "serve", !arguments.contains(where: { ["-h", "--help", "--experimental-dump-help"].contains($0) }) else {
        return arguments
    }
    let settings = try ServeSettings.resolve(arguments: Array(arguments.dropFirst()), environment: ProcessInfo.processInfo.environment)
    return ["serve"] + settings.arguments
}

/// One line (or more) to stderr: errors, and what is not the command's output.
func printError(_ text: String) {
    // What went to stdout first shows first, also when both go to one pipe (stdout is buffered there).
    fflush(nil)
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

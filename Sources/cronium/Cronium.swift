import ArgumentParser

/// Every command names itself (`commandName`): without it ArgumentParser derives each name with
/// `String(describing:)` at every start, and each of those casts scans all of the binary's
/// protocol conformances (about 10 ms of `cronium --version`'s 25 ms).
@main
struct Cronium: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cronium",
        abstract: "Self-hosted automation: scripts and HTTP calls on schedules, with live logs.",
        version: "0.1.0",
        subcommands: [
            Serve.self, EventCommand.self, LogsCommand.self, ExecutionCommand.self, ScheduleCommand.self, UserCommand.self,
            TokenCommand.self,
        ])
}

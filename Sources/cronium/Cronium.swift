import ArgumentParser

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

import ArgumentParser
import CroniumCore
import Foundation
import NIOHTTP1

struct EventCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "event",
        abstract: "Create, list, change, delete and run events.",
        subcommands: [
            Create.self, List.self, Show.self, Update.self, Pause.self, Resume.self, Delete.self, Run.self, Next.self, Ledger.self, Export.self,
            Import.self, HookCommand<EventHookTarget>.self,
        ]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "create", abstract: "Create an event (ACTIVE unless --status says otherwise).")
        @OptionGroup var client: ClientOptions
        @OptionGroup var event: EventOptions

        func run() async throws {
            var input = try event.input()
            input.status = input.status ?? .active
            let data = try await client.client.send(.POST, "/api/v1/events", body: input)
            if client.json { return printJSON(data) }
            let created = try APIClient.decoder.decode(EventOverview.self, from: data)
            client.report(
                "created event \(created.event.id) '\(created.event.name)' (\(created.event.status.rawValue))\(nextFireNote(created))",
                id: created.event.id
            )
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List the events you may see.")
        @OptionGroup var client: ClientOptions
        @OptionGroup var filter: EventFilter

        func run() async throws {
            let data = try await client.client.send(.GET, "/api/v1/events\(filter.query)")
            if client.json { return printJSON(data) }
            let events = try APIClient.decoder.decode([EventOverview].self, from: data)
            client.printTable(
                ["ID", "NAME", "TYPE", "STATUS", "SCHEDULE", "NEXT FIRE", "LAST RUN", "RUNS"],
                events.map { overview in
                    let event = overview.event
                    return [
                        String(event.id), event.name, event.type.rawValue, event.status.rawValue,
                        describe(event.schedule, trigger: event.triggerType),
                        overview.nextFireAt.map { formatISO8601($0, timeZone: zone(of: event.schedule)) } ?? "-",
                        overview.lastExecution.map { "\($0.status.rawValue) #\($0.id)" } ?? "-", String(event.executionCount),
                    ]
                }
            )
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "show", abstract: "Show one event as JSON.")
        @OptionGroup var client: ClientOptions
        @Argument(help: "Event id.") var id: EventID

        func run() async throws { printJSON(try await client.client.send(.GET, "/api/v1/events/\(id)")) }
    }

    struct Update: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "update", abstract: "Change the fields given by flags.")
        @OptionGroup var client: ClientOptions
        @Argument(help: "Event id.") var id: EventID
        @OptionGroup var event: EventOptions

        func run() async throws {
            // Schedule flags change the event's schedule: its zone and policies stay unless given.
            let current = event.touchesSchedule ? try await client.client.get("/api/v1/events/\(id)", as: Event.self).schedule : nil
            let data = try await client.client.send(.PATCH, "/api/v1/events/\(id)", body: try event.input(currentSchedule: current))
            if client.json { return printJSON(data) }
            let updated = try APIClient.decoder.decode(EventOverview.self, from: data)
            client.report(
                "updated event \(updated.event.id) '\(updated.event.name)' (\(updated.event.status.rawValue))\(nextFireNote(updated))",
                id: updated.event.id
            )
        }
    }

    struct Next: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "next",
            abstract: "Print the event's next fire times, one ISO-8601 time per line in its schedule's zone.",
            discussion: "For an event that is not ACTIVE, the times it would fire once it is (a note on stderr says so)."
        )
        @OptionGroup var client: ClientOptions
        @Argument(help: "Event id.") var id: EventID
        @Option(name: [.short, .long], help: "How many times (1-1000).") var count = 5

        func validate() throws {
            guard (1...1000).contains(count) else { throw ValidationError("--count must be between 1 and 1000") }
        }

        func run() async throws {
            let data = try await client.client.send(.GET, "/api/v1/events/\(id)/next?count=\(count)")
            if client.json { return printJSON(data) }
            let upcoming = try APIClient.decoder.decode(UpcomingFires.self, from: data)
            Self.print(
                upcoming.times,
                of: "event \(id)",
                status: upcoming.status.rawValue,
                fires: upcoming.fires,
                timeZone: upcoming.timeZone,
                runCommand: "cronium event run \(id)"
            )
        }

        /// One time per line in the schedule's zone, with a note on stderr when the owner does not fire now.
        static func print(_ times: [Date], of subject: String, status: String, fires: Bool, timeZone: String?, runCommand: String) {
            guard let timeZone else { return printError("\(subject) has no schedule: it runs only when started (\(runCommand))") }
            if !fires {
                printError("\(subject) is \(status) and does not fire now; once ACTIVE it would fire at:")
            } else if times.isEmpty {
                printError("\(subject) will not fire again (its one-shot time has passed)")
            }
            let zone = TimeZone(identifier: timeZone) ?? .gmt
            for time in times { Swift.print(formatISO8601(time, timeZone: zone)) }
        }
    }

    struct Ledger: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "ledger",
            abstract: "The event's schedule ledger: every due occurrence, run or not, newest first."
        )
        @OptionGroup var client: ClientOptions
        @Argument(help: "Event id.") var id: EventID
        @Option(help: "How many rows (1-1000).") var limit = 20

        func validate() throws {
            guard (1...1000).contains(limit) else { throw ValidationError("--limit must be between 1 and 1000") }
        }

        func run() async throws {
            let data = try await client.client.send(.GET, "/api/v1/events/\(id)/ledger?limit=\(limit)")
            if client.json { return printJSON(data) }
            let rows = try APIClient.decoder.decode([ScheduleOccurrence].self, from: data)
            client.printTable(
                ["DUE", "OUTCOME", "EXECUTION", "REASON"],
                rows.map {
                    [formatISO8601($0.scheduledFor, timeZone: .gmt), $0.outcome.rawValue, $0.executionId.map(String.init) ?? "-", $0.reason ?? ""]
                }
            )
        }
    }

    struct Pause: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "pause",
            abstract: "Stop an event's schedule (status PAUSED); running runs go on."
        )
        @OptionGroup var client: ClientOptions
        @Argument(help: "Event id.") var id: EventID

        func run() async throws { try await setStatus(.paused, of: id, client: client, verb: "paused") }
    }

    struct Resume: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "resume", abstract: "Start an event's schedule again (status ACTIVE).")
        @OptionGroup var client: ClientOptions
        @Argument(help: "Event id.") var id: EventID

        func run() async throws { try await setStatus(.active, of: id, client: client, verb: "resumed") }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "delete",
            abstract: "Delete an event and its history.",
            discussion: """
                An event that has runs is deleted with their logs; that is asked first on a terminal,                 and needs -y without one. To keep the history, archive the event instead:                 cronium event update ID --status archived.
                """
        )
        @OptionGroup var client: ClientOptions
        @Argument(help: "Event id.") var id: EventID
        @Flag(name: [.short, .long], help: "Delete without asking, even when the event has runs.") var yes = false

        func run() async throws {
            let api = try client.client
            if !yes {
                let event: Event = try await api.get("/api/v1/events/\(id)")
                let runs: [Execution] = try await api.get("/api/v1/executions?eventId=\(id)&limit=1")
                if !runs.isEmpty {
                    try confirm(
                        "Delete event \(id) '\(event.name)' with all its runs and their logs?",
                        refusal:
                            "event \(id) '\(event.name)' has runs, and deleting it deletes their logs too: add -y to go ahead, or keep them with `cronium event update \(id) --status archived`"
                    )
                }
            }
            _ = try await api.send(.DELETE, "/api/v1/events/\(id)")
            if !client.json && !client.quiet { print("deleted event \(id)") }
        }
    }

    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "run",
            abstract: "Run an event now.",
            discussion: "With --wait, exits with the script's exit status (124 on timeout, 130 when cancelled)."
        )
        @OptionGroup var client: ClientOptions
        @Argument(help: "Event id.") var id: EventID
        @Flag(help: "Wait for the run to end, printing its log as it happens.") var wait = false
        @Option(help: "The run's input, for its input() helper: JSON, or @FILE with JSON in it (@- for standard input).")
        var input: String?

        struct Started: Decodable { let executionId: ExecutionID }

        func run() async throws {
            let data = try await client.client.exchange(.POST, "/api/v1/events/\(id)/run", json: try EventCommand.runBody(input: input)).body
            let started = try APIClient.decoder.decode(Started.self, from: data)
            guard wait else {
                if client.json { return printJSON(data) }
                client.report("started execution \(started.executionId)", id: started.executionId)
                return
            }
            // -q: no log, only the run's id, then its exit status.
            let status = try await followLog(executionId: started.executionId, client: client, quiet: client.json || client.quiet)
            var execution: Execution = try await client.client.get("/api/v1/executions/\(started.executionId)")
            // The messages its actions send are part of the outcome: wait a while for them too.
            let deadline = ContinuousClock.now + .seconds(30)
            while execution.actions?.contains(where: { $0.status == .sending }) == true, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(200))
                execution = try await client.client.get("/api/v1/executions/\(started.executionId)")
            }
            if client.json {
                printJSON(try APIClient.encoder.encode(execution))
            } else if client.quiet {
                print(execution.id)
            } else {
                let results = [execution.outputValue.map { "output \($0.text)" }, execution.condition.map { "condition \($0)" }].compactMap { $0 }
                printError(
                    "execution \(execution.id) ended \(status.rawValue)\(execution.error.map { ": \($0)" } ?? "")"
                        + (results.isEmpty ? "" : " (\(results.joined(separator: ", ")))")
                )
            }
            if !client.json && !client.quiet {
                for firing in execution.actions ?? [] { printError(Self.describe(firing)) }
            }
            let code = processExitCode(for: execution)
            if code != 0 { throw ExitCode(code) }
        }

        /// One line for an action the run's end set off.
        static func describe(_ firing: ActionFiring) -> String {
            let what =
                switch firing.type {
                case .runEvent: "run event \(firing.targetEventId.map(String.init) ?? "?")"
                case .runWorkflow: "run workflow \(firing.targetWorkflowId.map(String.init) ?? "?")"
                case .sendMessage: "send a message"
                }
            let started = firing.executionId.map { " as execution \($0)" } ?? firing.workflowRunId.map { " as workflow run \($0)" } ?? ""
            switch firing.status {
            case .fired: return "\(firing.when.rawValue): \(what)\(started)"
            case .sending: return "\(firing.when.rawValue): still sending a message (`cronium execution messages` tells how it goes)"
            case .failed: return "\(firing.when.rawValue): could not \(what): \(firing.error ?? "no reason given")"
            }
        }

    }
}

extension EventCommand {
    /// `{"input": …}` from `--input` (JSON, or @FILE), checked to be JSON before anything is sent;
    /// nil without one. Workflows' runs take it too.
    static func runBody(input: String?) throws -> Data? {
        guard let input else { return nil }
        let text = input.hasPrefix("@") ? try EventOptions.read(String(input.dropFirst()), option: "--input") : Data(input.utf8)
        guard let value = try? JSONSerialization.jsonObject(with: text, options: [.fragmentsAllowed]) else {
            throw ValidationError("--input is not JSON; quote a string as '\"text\"', or give a file as @FILE")
        }
        return try JSONSerialization.data(withJSONObject: ["input": value], options: [.fragmentsAllowed])
    }
}

/// `--tag` and `--status`: which events `event list` and `event export` take.
struct EventFilter: ParsableArguments {
    @Option(help: "Only events with this tag.") var tag: String?
    @Option(help: "Only events with this status: active, paused, draft or archived.") var status: String?

    func validate() throws {
        if let status, EventStatus.named(status) == nil { throw ValidationError("--status must be one of \(EventStatus.validNames)") }
    }

    /// `?tag=…&status=…`, or nothing.
    var query: String {
        let filters = [tag.map { ("tag", $0) }, status.map { ("status", $0) }].compactMap { $0 }
        return filters.isEmpty
            ? "" : "?" + filters.map { "\($0)=\($1.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? $1)" }.joined(separator: "&")
    }
}

/// Asks `question` on the terminal; without one, refuses with `refusal` (the command's -y skips
/// the question). Anything but y or yes keeps things as they are.
func confirm(_ question: String, refusal: String) throws {
    guard isatty(STDIN_FILENO) == 1 else { throw ValidationError(refusal) }
    FileHandle.standardError.write(Data("\(question) [y/N] ".utf8))
    let answer = readLine()?.trimmingCharacters(in: .whitespaces).lowercased()
    guard answer == "y" || answer == "yes" else { throw CLIError("nothing was deleted") }
}

/// `event pause|resume`: a status change that reports the event's new state.
func setStatus(_ status: EventStatus, of id: EventID, client: ClientOptions, verb: String) async throws {
    var input = EventInput()
    input.status = status
    let data = try await client.client.send(.PATCH, "/api/v1/events/\(id)", body: input)
    if client.json { return printJSON(data) }
    let overview = try APIClient.decoder.decode(EventOverview.self, from: data)
    let event = overview.event
    client.report("\(verb) event \(event.id) '\(event.name)' (\(event.status.rawValue))\(nextFireNote(overview))", id: event.id)
}

/// The exit status a script-like caller expects: the script's own, or the timeout(1) conventions.
func processExitCode(for execution: Execution) -> Int32 {
    switch execution.status {
    case .success: 0
    case .timeout: 124
    case .cancelled: 130
    default: Int32(clamping: execution.exitCode.map { $0 == 0 || $0 > 255 ? 1 : $0 } ?? 1)
    }
}

/// ", next fire at …" for what create and update report, when the event fires.
func nextFireNote(_ overview: EventOverview) -> String {
    overview.nextFireAt.map { ", next fire at \(formatISO8601($0, timeZone: zone(of: overview.event.schedule)))" } ?? ""
}

/// The zone a schedule's times are shown in: its own.
func zone(of schedule: Schedule?) -> TimeZone {
    schedule.flatMap { TimeZone(identifier: $0.timeZone) } ?? .gmt
}

func describe(_ schedule: Schedule?, trigger: TriggerType) -> String {
    guard trigger == .schedule, let schedule else { return "manual" }
    switch schedule.kind {
    case .cron: return "\(schedule.cron ?? "") \(schedule.timeZone)"
    case .interval: return "every \(schedule.intervalSeconds ?? 0)s"
    case .once: return "once \(schedule.startAt.map { formatISO8601($0, timeZone: zone(of: schedule)) } ?? "")"
    }
}

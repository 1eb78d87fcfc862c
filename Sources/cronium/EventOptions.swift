import ArgumentParser
import CroniumCore
import Foundation

/// The flags that describe an event, shared by `event create` and `event update`; only flags
/// given are sent, so `update` changes just those fields.
struct EventOptions: ParsableArguments {
    @Option(help: "Name.") var name: String?
    @Option(help: "Description.") var description: String?
    @Option(help: "bash, python, node, http or tool.") var type: String?
    @Option(help: "Script source.") var script: String?
    @Option(name: .customLong("file"), help: "Read the script from this file ('-' for stdin).") var scriptFile: String?
    @Option(help: "HTTP events: the URL to call.") var httpURL: String?
    @Option(help: "HTTP events: the method.") var method: String?
    @Option(name: .customLong("header"), help: "HTTP events: a header, 'Name: value' (repeatable).") var headers: [String] = []
    @Option(help: "HTTP events: the request body.") var body: String?
    @Option(help: "Tool actions: the tool to send through (`cronium tool list`).") var tool: String?
    @Option(help: "Tool actions: the message, a template over the run ({{event.name}}, {{input.FIELD}}…).") var message: String?
    @Option(help: "Tool actions: the subject (a card's title), a template too.") var subject: String?
    @Option(help: "Tool actions through email: a recipient (repeatable; replaces them).") var to: [String] = []
    @Option(help: "Tool actions through email: an HTML alternative, a template too.") var html: String?
    @Option(help: "Cron schedule, 5 fields or 6 with seconds first, or @hourly etc.") var cron: String?
    @Option(help: "Interval schedule: every 30s, 5m, 2h, 1d since the previous fire.") var every: String?
    @Option(help: "One-shot schedule: run once at this ISO-8601 time.") var at: String?
    @Option(help: "Delay the first fire until this ISO-8601 time.") var startAt: String?
    @Option(help: "IANA time zone of the schedule (default UTC).") var tz: String?
    @Option(help: "After downtime: none, last or all.") var misfire: String?
    @Option(help: "While the previous run goes on: allow, skip, queue or replace.") var overlap: String?
    @Option(help: "Times in a spring-forward gap: shift or skip.") var dstGap: String?
    @Option(help: "Times in a fall-back overlap: once or twice.") var dstOverlap: String?
    @Option(name: .customLong("env"), help: "Environment variable KEY=VALUE (repeatable).") var environment: [String] = []
    @Option(
        name: .customLong("var"),
        help: "One of your variables as an environment variable: NAME=VARIABLE_KEY, or KEY for the same name (repeatable)."
    )
    var variables: [String] = []
    @Option(name: .customLong("on-success-run"), help: "After a run succeeds, run this event with its output as input (repeatable).")
    var onSuccessRun: [EventID] = []
    @Option(name: .customLong("on-failure-run"), help: "After a run fails or times out, run this event (repeatable).") var onFailureRun: [EventID] =
        []
    @Option(name: .customLong("always-run"), help: "After every run, run this event (repeatable).") var alwaysRun: [EventID] = []
    @Option(name: .customLong("on-condition-run"), help: "After a run whose script set its condition true, run this event (repeatable).")
    var onConditionRun: [EventID] = []
    @Option(help: "Timeout, e.g. 30s, 10m, 2h.") var timeout: String?
    @Option(help: "Retries after a failure (0-10).") var retries: Int?
    @Option(help: "Pause after this many runs (0 = unlimited).") var maxExecutions: Int?
    @Option(name: .customLong("tag"), help: "Tag (repeatable).") var tags: [String] = []
    @Option(help: "ACTIVE, PAUSED, DRAFT or ARCHIVED.") var status: String?
    @Flag(inversion: .prefixedNo, help: "Allow network access in the sandbox (in a container: bridge instead of none).") var network: Bool?
    @Option(help: "Where runs happen: local (the sandbox), container, or remote (over SSH, on --server/--server-tag).") var runLocation: String?
    @Option(name: .customLong("server"), help: "A server a remote event runs on (repeatable; see `cronium server list`).") var servers: [String] = []
    @Option(help: "Run a remote event on every server with this tag; \"\" clears it.") var serverTag: String?
    @Option(help: "The container image of a container event (default: cronium/runner:<language>); \"\" clears it.") var image: String?
    @Option(help: "CPUs of a container run (0.5 is half of one).") var cpus: Double?
    @Flag(inversion: .prefixedNo, help: "Share with every user (read and run).") var shared: Bool?
    @Option(help: "Memory of a run, in MiB (limits are sent whole: give every one you want).") var memory: Int?
    @Option(help: "Processes a run may have at once.") var processes: Int?
    @Option(help: "Open files per process of a run.") var openFiles: Int?
    @Option(help: "Size of a run's work directory and of its /tmp, in MiB.") var disk: Int?
    @Option(help: "Days this event's runs are kept, instead of the server's --keep-runs-days (0: for ever; retention is sent whole).")
    var keepRunsDays: Int?
    @Option(help: "How many of this event's newest runs are kept whatever their age (0: no such limit).") var keepLastRuns: Int?
    @Option(help: "Days this event's logs are kept, instead of the server's --keep-logs-days (0: as long as their runs).") var keepLogsDays: Int?
    @Option(name: .customLong("read-only-path"), help: "Host path the sandbox shows the runs read-only (repeatable; administrators only).")
    var readOnlyPaths: [String] = []
    @Option(help: "Read the whole event as JSON from this file; flags then override it.") var fromJSON: String?

    /// The event the flags describe; `currentSchedule` is the schedule an update changes.
    func input(currentSchedule: Schedule? = nil) throws -> EventInput {
        var input = EventInput()
        if let fromJSON {
            do {
                input = try APIClient.decoder.decode(EventInput.self, from: try Self.read(fromJSON, option: "--from-json"))
            } catch is DecodingError {
                throw ValidationError("--from-json \(fromJSON): not an event's JSON object (see docs/events.md for its fields)")
            }
        }
        input.name = name ?? input.name
        input.description = description ?? input.description
        if let type { input.type = try Self.eventType(type) }
        if let scriptFile { input.content = String(decoding: try Self.read(scriptFile, option: "--file"), as: UTF8.self) }
        input.content = script ?? input.content
        if httpURL != nil || method != nil || !headers.isEmpty || body != nil {
            var spec = input.httpRequest ?? HTTPRequestSpec(url: "")
            spec.url = httpURL ?? spec.url
            spec.method = method?.uppercased() ?? spec.method
            spec.body = body ?? spec.body
            for header in headers {
                guard let colon = header.firstIndex(of: ":") else { throw ValidationError("--header must look like 'Name: value'") }
                spec.headers[String(header[..<colon])] = header[header.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
            input.httpRequest = spec
            input.type = input.type ?? .httpRequest
        }
        if tool != nil || message != nil || subject != nil || !to.isEmpty || html != nil {
            var spec = input.toolAction ?? ToolActionSpec(tool: "", message: "")
            spec.tool = tool ?? spec.tool
            spec.message = message ?? spec.message
            spec.subject = subject ?? spec.subject
            if !to.isEmpty { spec.to = to }
            spec.html = html ?? spec.html
            input.toolAction = spec
            input.type = input.type ?? .toolAction
        }
        if let schedule = try schedule(changing: currentSchedule) {
            input.schedule = schedule
            input.triggerType = .schedule
        }
        if !environment.isEmpty {
            var variables = input.environment ?? [:]
            for pair in environment {
                guard let equals = pair.firstIndex(of: "=") else { throw ValidationError("--env must look like KEY=VALUE") }
                variables[String(pair[..<equals])] = String(pair[pair.index(after: equals)...])
            }
            input.environment = variables
        }
        let runs = [(ActionCondition.always, alwaysRun), (.onSuccess, onSuccessRun), (.onFailure, onFailureRun), (.onCondition, onConditionRun)]
        if runs.contains(where: { !$0.1.isEmpty }) {
            // Replaces the event's actions, as --env replaces its environment.
            input.actions = (input.actions ?? []) + runs.flatMap { when, ids in ids.map { EventAction(when: when, type: .runEvent, eventId: $0) } }
        }
        if !variables.isEmpty {
            var mapped = input.variables ?? [:]
            for pair in variables {
                let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
                mapped[parts[0]] = parts.count == 2 ? parts[1] : parts[0]
            }
            input.variables = mapped
        }
        if let timeout {
            input.timeoutValue = try parseDuration(timeout)
            input.timeoutUnit = .seconds
        }
        input.retries = retries ?? input.retries
        input.maxExecutions = maxExecutions ?? input.maxExecutions
        if !tags.isEmpty { input.tags = tags }
        if let status {
            guard let parsed = EventStatus(rawValue: status.uppercased()) else {
                throw ValidationError("--status must be ACTIVE, PAUSED, DRAFT or ARCHIVED")
            }
            input.status = parsed
        }
        if let runLocation {
            guard let parsed = RunLocation(rawValue: runLocation.uppercased()) else {
                throw ValidationError("--run-location must be local, container or remote")
            }
            input.runLocation = parsed
        }
        input.image = image ?? input.image
        if !servers.isEmpty { input.servers = servers }
        input.serverTag = serverTag ?? input.serverTag
        // Naming servers means running there.
        if (!servers.isEmpty || serverTag?.isEmpty == false), runLocation == nil, input.runLocation == nil { input.runLocation = .remote }
        input.networkAccess = network ?? input.networkAccess
        input.shared = shared ?? input.shared
        if [memory, processes, openFiles, disk].contains(where: { $0 != nil }) || cpus != nil {
            input.limits = RunLimits(memoryMB: memory, processes: processes, openFiles: openFiles, diskMB: disk, cpus: cpus)
        }
        if [keepRunsDays, keepLastRuns, keepLogsDays].contains(where: { $0 != nil }) {
            input.retention = Retention(runsDays: keepRunsDays, lastRuns: keepLastRuns, logsDays: keepLogsDays)
        }
        if !readOnlyPaths.isEmpty { input.readOnlyPaths = readOnlyPaths }
        return input
    }

    /// The first line of what a secret's file (or standard input) holds, without its line break.
    static func firstLine(_ data: Data) -> String {
        String(String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).first ?? "")
    }

    /// A file named on the command line (`-` is standard input), or a usage error that names it.
    static func read(_ path: String, option: String) throws -> Data {
        if path == "-" { return FileHandle.standardInput.readDataToEndOfFile() }
        guard let data = FileManager.default.contents(atPath: path) else {
            var isDirectory: ObjCBool = false
            let exists = FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
            throw ValidationError("\(option) \(path): \(!exists ? "no such file" : isDirectory.boolValue ? "is a directory" : "cannot be read")")
        }
        return data
    }

    /// Whether any schedule flag was given: `event update` then fetches the schedule it changes.
    var touchesSchedule: Bool { [cron, every, at, startAt, tz, misfire, overlap, dstGap, dstOverlap].contains { $0 != nil } }

    /// The schedule the flags describe. `--cron`, `--every` or `--at` start a new one that keeps
    /// `current`'s time zone and policies unless they are given too; without one of them, the
    /// other flags change `current` (an update's existing schedule) and need it.
    private func schedule(changing current: Schedule?) throws -> Schedule? {
        let kinds = [cron, every, at].compactMap { $0 }
        guard kinds.count <= 1 else { throw ValidationError("give one of --cron, --every or --at") }
        var schedule: Schedule
        if let cron {
            schedule = .cron(cron)
        } else if let every {
            schedule = .interval(seconds: try parseDuration(every))
        } else if let at {
            schedule = .once(at: try parseDate(at, option: "--at"))
        } else if touchesSchedule {
            guard let current else {
                throw ValidationError(
                    "--start-at, --tz, --misfire, --overlap, --dst-gap and --dst-overlap need --cron, --every or --at: the event has no schedule to change"
                )
            }
            schedule = current
        } else {
            return nil
        }
        if let current, !kinds.isEmpty {
            schedule.timeZone = current.timeZone
            schedule.misfire = current.misfire
            schedule.overlap = current.overlap
            schedule.dstGap = current.dstGap
            schedule.dstOverlap = current.dstOverlap
        }
        if let startAt { schedule.startAt = try parseDate(startAt, option: "--start-at") }
        if let tz { schedule.timeZone = tz }
        if let misfire { schedule.misfire = try Self.policy(misfire, option: "--misfire") }
        if let overlap { schedule.overlap = try Self.policy(overlap, option: "--overlap") }
        if let dstGap { schedule.dstGap = try Self.policy(dstGap, option: "--dst-gap") }
        if let dstOverlap { schedule.dstOverlap = try Self.policy(dstOverlap, option: "--dst-overlap") }
        return schedule
    }

    static func policy<P: ClosedSetCodable>(_ value: String, option: String) throws -> P {
        guard let policy = P.named(value) else { throw ValidationError("\(option) must be one of \(P.validNames)") }
        return policy
    }

    static func eventType(_ value: String) throws -> EventType {
        switch value.lowercased() {
        case "bash", "sh": return .bash
        case "python", "python3", "py": return .python
        case "node", "nodejs", "js": return .nodejs
        case "http", "http_request": return .httpRequest
        case "tool", "tool_action": return .toolAction
        default: throw ValidationError("--type must be bash, python, node, http or tool")
        }
    }
}

/// "90", "30s", "5m", "2h", "1d" in seconds.
func parseDuration(_ text: String) throws -> Int {
    let units: [Character: Int] = ["s": 1, "m": 60, "h": 3600, "d": 86400]
    let trimmed = text.trimmingCharacters(in: .whitespaces).lowercased()
    if let last = trimmed.last, let unit = units[last], let value = Int(trimmed.dropLast()), value > 0 { return value * unit }
    if let value = Int(trimmed), value > 0 { return value }
    throw ValidationError("'\(text)' is not a duration; use e.g. 30s, 5m, 2h or 1d")
}

func parseDate(_ text: String, option: String) throws -> Date {
    if let date = try? Date(text, strategy: .iso8601) { return date }
    throw ValidationError("\(option) must be an ISO-8601 time such as 2027-03-28T02:30:00Z or 2027-03-28T02:30:00+01:00")
}

import CroniumCore
import Foundation
import Testing

@Suite struct EventValidationTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    func input(_ configure: (inout EventInput) -> Void = { _ in }) -> EventInput {
        var input = EventInput()
        input.name = "job"
        input.type = .bash
        input.content = "true"
        configure(&input)
        return input
    }

    @Test func missingRequiredFieldsAreNamed() throws {
        let error = #expect(throws: ValidationError.self) { try Event.create(from: EventInput(), ownerId: 1, now: now) }
        #expect(error?.problems.map(\.field) == ["name", "type"])
    }

    /// A schedule sent without a trigger makes the event scheduled; with MANUAL it would never be
    /// used, so that is refused and nothing changes.
    @Test func aScheduleBringsItsTriggerAndManualWithAScheduleIsRefused() throws {
        var event = try Event.create(from: input { $0.schedule = .cron("0 3 * * *") }, ownerId: 1, now: now)
        #expect(event.triggerType == .schedule && event.schedule?.cron == "0 3 * * *")
        let contradiction = input {
            $0.triggerType = .manual
            $0.schedule = .cron("0 4 * * *")
        }
        let error = #expect(throws: ValidationError.self) { try Event.create(from: contradiction, ownerId: 1, now: now) }
        #expect(error?.problems.map(\.field) == ["schedule"])
        #expect(error?.problems.first?.message.contains("send triggerType SCHEDULE") == true)
        let before = event
        #expect(throws: ValidationError.self) { try event.apply(contradiction, now: now) }
        #expect(event == before)
        // Switching an event to MANUAL alone keeps its schedule for a later switch back.
        var manual = EventInput()
        manual.triggerType = .manual
        try event.apply(manual, now: now)
        #expect(event.triggerType == .manual && event.schedule != nil)
    }

    @Test func createAppliesDefaults() throws {
        let event = try Event.create(from: input(), ownerId: 7, now: now)
        #expect(event.ownerId == 7 && event.status == .draft && event.triggerType == .manual)
        #expect(event.timeoutSeconds == 1800 && event.retries == 0 && event.maxExecutions == 0)
        #expect(event.runLocation == .local && event.networkAccess && !event.shared)
    }

    @Test(
        arguments: [
            ("retries", { @Sendable (i: inout EventInput) in i.retries = 11 }),
            ("timeoutValue", { @Sendable (i: inout EventInput) in i.timeoutValue = 0 }),
            ("maxExecutions", { @Sendable (i: inout EventInput) in i.maxExecutions = -1 }),
            ("content", { @Sendable (i: inout EventInput) in i.content = "  \n" }),
            ("environment.CRONIUM_X", { @Sendable (i: inout EventInput) in i.environment = ["CRONIUM_X": "1"] }),
            ("environment.A-B", { @Sendable (i: inout EventInput) in i.environment = ["A-B": "1"] }),
            ("schedule", { @Sendable (i: inout EventInput) in i.triggerType = .schedule }),
            (
                "schedule.timeZone",
                { @Sendable (i: inout EventInput) in
                    i.triggerType = .schedule; i.schedule = .cron("* * * * *", timeZone: "Mars/Olympus")
                }
            ),
            ("httpRequest", { @Sendable (i: inout EventInput) in i.type = .httpRequest }),
            (
                "httpRequest.url",
                { @Sendable (i: inout EventInput) in
                    i.type = .httpRequest; i.httpRequest = HTTPRequestSpec(url: "ftp://x")
                }
            ),
        ] as [(String, @Sendable (inout EventInput) -> Void)]
    )
    func eachInvalidFieldIsReported(field: String, change: @Sendable (inout EventInput) -> Void) throws {
        let error = #expect(throws: ValidationError.self) { try Event.create(from: input(change), ownerId: 1, now: now) }
        #expect(error?.problems.map(\.field).contains(field) == true, "\(error?.problems ?? [])")
    }

    /// Container settings belong to container events, and a container gets no network unless it asks.
    @Test func containerFieldsAreCheckedAndTheNetworkIsOffUnlessAsked() throws {
        func problems(_ change: (inout EventInput) -> Void) -> [FieldProblem] {
            (#expect(throws: ValidationError.self) { try Event.create(from: input(change), ownerId: 1, now: now) })?.problems ?? []
        }
        #expect(problems { $0.image = "cronium/runner:bash" }.map(\.field) == ["image"])
        #expect(problems { $0.limits = RunLimits(cpus: 1) }.map(\.field) == ["limits.cpus"])
        #expect(
            problems {
                $0.runLocation = .container
                $0.image = "bad image!"
            }.first?.message.contains("is not an image name") == true
        )
        #expect(
            problems {
                $0.runLocation = .container
                $0.type = .httpRequest
                $0.httpRequest = HTTPRequestSpec(url: "http://127.0.0.1/")
            }.map(\.field) == ["runLocation"]
        )
        var event = try Event.create(from: input { $0.runLocation = .container }, ownerId: 1, now: now)
        #expect(!event.networkAccess && event.image == nil)
        #expect(
            try Event.create(
                from: input {
                    $0.runLocation = .container; $0.networkAccess = true
                },
                ownerId: 1,
                now: now
            ).networkAccess
        )
        var image = EventInput()
        image.image = "ghcr.io/acme/tools:2"
        try event.apply(image, now: now)
        #expect(event.image == "ghcr.io/acme/tools:2")
        image.image = ""
        try event.apply(image, now: now)
        #expect(event.image == nil)
        #expect(
            RunLimits(cpus: 8).problems(field: "limits", maxima: .defaultMaxima).map(\.message) == ["must be between 0.01 and 4 CPUs on this server"]
        )
    }

    @Test func rejectedUpdateLeavesTheEventUnchanged() throws {
        var event = try Event.create(from: input(), ownerId: 1, now: now)
        let before = event
        var change = EventInput()
        change.name = "renamed"
        change.retries = 99
        #expect(throws: ValidationError.self) { try event.apply(change, now: now + 60) }
        #expect(event == before)
    }

    @Test func reactivationResetsTheCounterOnlyWhenAsked() throws {
        var event = try Event.create(from: input { $0.maxExecutions = 3 }, ownerId: 1, now: now)
        event.executionCount = 3
        event.status = .paused
        var activate = EventInput()
        activate.status = .active
        var keep = event
        try keep.apply(activate, now: now)
        #expect(keep.executionCount == 3)
        event.resetCounterOnActive = true
        try event.apply(activate, now: now)
        #expect(event.executionCount == 0 && event.status == .active)
    }

    @Test func eventsRoundTripThroughJSON() throws {
        let event = try Event.create(
            from: input {
                $0.triggerType = .schedule
                $0.schedule = .cron("0 9 * * MON-FRI", timeZone: "America/New_York")
                $0.tags = ["a", "b"]
            },
            ownerId: 1,
            now: now
        )
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        #expect(try decoder.decode(Event.self, from: encoder.encode(event)) == event)
    }
}

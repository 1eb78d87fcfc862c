import Synchronization
import Testing

@testable import CroniumExecutors

@Suite struct SingleFlightTests {
    struct Refused: Error {}
    final class Counter: Sendable { let value = Atomic(0) }

    /// Twenty callers at once share one piece of work and its result; a failure reaches every
    /// caller of its flight and is not kept: the next caller does the work again.
    @Test func callersAtOnceShareOneFlightAndAFailureIsNotKept() async throws {
        let flights = SingleFlight<String, Int>()
        let works = Counter()
        let results = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<20 {
                group.addTask {
                    try await flights.run("server") {
                        let number = works.value.add(1, ordering: .relaxed).newValue
                        // Held until the nineteen others wait on it.
                        while flights.waiting(on: "server") < 19 { try await Task.sleep(for: .milliseconds(5)) }
                        return number
                    }
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(works.value.load(ordering: .relaxed) == 1)
        #expect(results == Array(repeating: 1, count: 20))

        await #expect(throws: Refused.self) { try await flights.run("server") { throw Refused() } }
        #expect(try await flights.run("server") { 42 } == 42)
        #expect(try await flights.run("other") { 7 } == 7)
    }
}

import CroniumCore
import Foundation
import Testing

@testable import CroniumEngine

/// The scheduler's timetable on its own: buckets per instant, stale ids after changes, order.
@Suite struct TimetableTests {
    static let t0 = Date(timeIntervalSince1970: 1_900_000_000)

    func entry(_ id: EventID, at offset: TimeInterval) throws -> Timetable.Entry {
        var input = EventInput()
        input.name = "event \(id)"
        input.type = .bash
        input.content = "true"
        input.triggerType = .schedule
        input.schedule = .interval(seconds: 60)
        var event = try Event.create(from: input, ownerId: 1, now: Self.t0)
        event.id = id
        return Timetable.Entry(owner: .event(event.id), plan: try SchedulePlan(event.schedule!), nextFire: Self.t0 + offset)
    }

    @Test func dueEntriesComeOutEarliestInstantFirstInPlanningOrder() throws {
        var table = Timetable()
        for (id, offset) in [(1, 10.0), (2, 5), (3, 10), (4, 5), (5, 20)] { table.set(try entry(EventID(Int64(id)), at: offset)) }
        #expect(table.earliest == Self.t0 + 5)
        #expect(table.takeDue(now: Self.t0 + 4).isEmpty)
        #expect(table.takeDue(now: Self.t0 + 10).map(\.owner) == [2, 4, 1, 3].map { .event(EventID($0)) })
        // Taken entries stay visible but are not due again until they are set anew.
        #expect(table.count == 5)
        #expect(table.takeDue(now: Self.t0 + 10).isEmpty)
        #expect(table.earliest == Self.t0 + 20)
    }

    @Test func movedAndRemovedEntriesLeaveOnlyStaleIdsBehind() throws {
        var table = Timetable()
        table.set(try entry(1, at: 5))
        table.set(try entry(2, at: 5))
        table.set(try entry(1, at: 30))  // moved later
        table.remove(id: .event(2))
        #expect(table.takeDue(now: Self.t0 + 29).isEmpty)
        table.set(try entry(1, at: 5))  // and back: must not come out twice
        table.set(try entry(1, at: 5))
        #expect(table.takeDue(now: Self.t0 + 30).map(\.owner) == [1].map { .event(EventID($0)) })
        #expect(table[.event(2)] == nil)
    }

    @Test func followingFiresAreWorkedOutOnceAndDroppedWhenAnEntryMoves() throws {
        var table = Timetable()
        table.set(try entry(1, at: 0))
        let unprepared = table.takeUnprepared()
        #expect(unprepared.map(\.owner) == [1].map { .event(EventID($0)) })
        table.setFollowing(Self.t0 + 60, id: .event(1), after: Self.t0)
        #expect(table[.event(1)]?.following == Self.t0 + 60)
        #expect(table.takeUnprepared().isEmpty)
        // A following fire worked out for an old position is not applied to the new one.
        table.setFollowing(Self.t0 + 999, id: .event(1), after: Self.t0 + 1)
        #expect(table[.event(1)]?.following == Self.t0 + 60)
        var moved = try entry(1, at: 60)
        moved.following = Self.t0 + 120
        table.set(moved)
        #expect(table[.event(1)]?.following == nil)
    }
}

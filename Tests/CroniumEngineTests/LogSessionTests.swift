import CroniumCore
import Foundation
import Testing

@testable import CroniumEngine

/// A run's live log hands its lines to followers until the store has them.
@Suite struct LogSessionTests {
    /// A follower that subscribes while a batch is being written reads the store before the
    /// batch is in it: the session must still give those lines out (found by the docs test, where
    /// `event run --wait` of a one-line script sometimes printed no line).
    @Test func linesBeingWrittenAreStillGivenToNewFollowers() {
        var session = LogSession(capBytes: 1 << 20)
        _ = session.append(stream: .stdout, text: "run", time: Date())
        let batch = session.takeWritable(final: false)
        #expect(batch.map(\.text) == ["run"])
        #expect(session.unwritten.map(\.text) == ["run"], "taken for writing, not yet written")
        _ = session.append(stream: .stdout, text: "more", time: Date())
        #expect(session.unwritten.map(\.seq) == [1, 2])
        session.written()
        #expect(session.unwritten.map(\.text) == ["more"])
    }
}

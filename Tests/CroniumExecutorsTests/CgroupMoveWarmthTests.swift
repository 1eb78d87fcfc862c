import CroniumTesting
import Foundation
import Testing

@testable import CroniumExecutors

/// The thread that keeps the kernel's cgroup lock ready while runs start: it moves the server
/// into its own group while a run holds it, and stops a moment after the last one let go.
@Suite struct CgroupMoveWarmthTests {
    @Test func movesWhileHeldAndStopsAfter() async throws {
        let procs = try #require(CgroupMoveWarmth.ownProcsFile(), "the server may not write its own group's cgroup.procs here")
        // An instance of the test's own: the process's shared one also serves other tests' runs.
        let warmth = try #require(CgroupMoveWarmth(procsFile: procs))
        try await Task.sleep(for: .milliseconds(20))
        #expect(warmth.moves == 0, "it moved before anything held it")
        warmth.hold()
        warmth.hold()
        #expect(try await eventually { warmth.moves >= 5 })
        warmth.release()
        let afterFirst = warmth.moves
        #expect(try await eventually { warmth.moves > afterFirst + 3 }, "one holder is left")
        warmth.release()
        try await Task.sleep(for: CgroupMoveWarmth.linger + .milliseconds(100))
        let settled = warmth.moves
        try await Task.sleep(for: .milliseconds(100))
        #expect(warmth.moves == settled, "it went on after the linger")
        // Held again, it wakes.
        warmth.hold()
        #expect(try await eventually { warmth.moves > settled + 2 })
        warmth.release()
    }
}

import CroniumCore
import DequeModule
import Foundation

/// One run's log while it is live: the head is written as it comes; once the head has used half
/// the cap, later lines go to a tail that keeps only the newest half-cap's worth.
struct LogSession {
    let capBytes: Int
    private(set) var totalBytes = 0
    private(set) var droppedBytes = 0
    private var droppedLines = 0
    private var nextSeq = 1
    private var headBytes = 0
    private var pending: [LogLine] = []
    /// The newest lines past the head: dropping its oldest line must not shift the others.
    private var tail: Deque<LogLine> = []
    private var tailBytes = 0
    private var lastDroppedSeq = 0
    /// Lines handed to the store whose write has not finished: a follower that subscribes now
    /// reads the store before they are in it, so it must get them from here.
    private var writing: [LogLine] = []
    var subscribers: [UUID: LogSubscription] = [:]

    init(capBytes: Int) { self.capBytes = capBytes }

    private var headLimit: Int { capBytes / 2 }

    /// Lines read but not yet in the store, in order (some may be committing just now: followers
    /// drop what they already have by `seq`).
    var unwritten: [LogLine] { writing + pending + Array(tail) }
    /// Whether lines wait for the next batch write (the tail waits for the end instead).
    var hasPending: Bool { !pending.isEmpty }

    mutating func append(stream: LogStream, text: String, time: Date) -> LogLine {
        // Stored times have millisecond precision; live lines get the same, so a replay equals what was followed.
        let stamp = Date(timeIntervalSince1970: (time.timeIntervalSince1970 * 1000).rounded(.down) / 1000)
        let line = LogLine(seq: nextSeq, time: stamp, stream: stream, text: text)
        nextSeq += 1
        let size = text.utf8.count + 1
        totalBytes += size
        if tail.isEmpty, droppedLines == 0, headBytes + size <= headLimit {
            headBytes += size
            pending.append(line)
        } else {
            tail.append(line)
            tailBytes += size
            while tailBytes > capBytes - headLimit, !tail.isEmpty {
                let evicted = tail.removeFirst()
                let evictedSize = evicted.text.utf8.count + 1
                tailBytes -= evictedSize
                droppedBytes += evictedSize
                droppedLines += 1
                lastDroppedSeq = evicted.seq
            }
        }
        return line
    }

    /// Takes what may be written now: the head's waiting lines, and at the end also a note on what
    /// was dropped and the kept tail.
    mutating func takeWritable(final: Bool) -> [LogLine] {
        let batch = takeBatch(final: final)
        writing += batch
        return batch
    }

    /// The store has the lines ``takeWritable(final:)`` gave out (or gave up on them).
    mutating func written() { writing.removeAll() }

    private mutating func takeBatch(final: Bool) -> [LogLine] {
        var batch = pending
        pending.removeAll(keepingCapacity: true)
        guard final else { return batch }
        if droppedLines > 0 {
            // The note takes the seq of the last dropped line, which is free and sorts just before the tail.
            let note = "[cronium] \(droppedLines) lines (\(droppedBytes) bytes) dropped here: the log exceeded its cap of \(capBytes) bytes"
            batch.append(LogLine(seq: lastDroppedSeq, time: tail.first?.time ?? Date(), stream: .system, text: note))
        }
        batch += Array(tail)
        tail.removeAll()
        tailBytes = 0
        return batch
    }
}

import Testing

@testable import CroniumExecutors

@Suite struct LineSplitterTests {
    /// Feeds `text` in chunks of `size` bytes and collects every line, the unterminated last one too.
    func split(_ text: String, chunk size: Int, maxLineBytes: Int = 64 * 1024) -> [String] {
        var splitter = LineSplitter(maxLineBytes: maxLineBytes)
        let bytes = Array(text.utf8)
        var lines: [String] = []
        for start in stride(from: 0, to: bytes.count, by: size) {
            let chunk = bytes[start..<min(start + size, bytes.count)]
            lines += chunk.withUnsafeBytes { splitter.feed($0) }
        }
        if let last = splitter.finish() { lines.append(last) }
        return lines
    }

    @Test(arguments: [1, 2, 3, 7, 1000])
    func linesSurviveAnyChunking(size: Int) {
        let text = "first\nsecond line\r\n\n\u{00e9}t\u{00e9} \u{1F600}\nlast without break"
        #expect(split(text, chunk: size) == ["first", "second line", "", "\u{00e9}t\u{00e9} \u{1F600}", "last without break"])
    }

    @Test(arguments: [1, 3, 5, 100])
    func longLinesAreCutAtTheLimit(size: Int) {
        #expect(
            split("abcdefghij\nxyz\n0123456789abcdefghij", chunk: size, maxLineBytes: 8) == ["abcdefgh", "ij", "xyz", "01234567", "89abcdef", "ghij"]
        )
    }
}

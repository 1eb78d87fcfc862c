/// Cuts a byte stream into lines. A line longer than `maxLineBytes` is emitted in pieces instead of
/// growing without bound, so memory stays bounded whatever a script prints.
struct LineSplitter {
    let maxLineBytes: Int
    private var pending: [UInt8] = []

    init(maxLineBytes: Int = 64 * 1024) { self.maxLineBytes = maxLineBytes }

    /// Appends `bytes` and returns every line completed by them, without their line breaks.
    mutating func feed(_ bytes: UnsafeRawBufferPointer) -> [String] {
        var lines: [String] = []
        var rest = bytes[...]
        // Whole lines are decoded straight from the read buffer; only a line cut by the end of a
        // read is copied, to be completed by the next.
        while let newline = rest.firstIndex(of: UInt8(ascii: "\n")) {
            let line = rest[rest.startIndex..<newline]
            if pending.isEmpty && line.count < maxLineBytes {
                lines.append(Self.decode(UnsafeRawBufferPointer(rebasing: line)))
            } else {
                append(line, to: &lines)
                lines.append(take())
            }
            rest = rest[(newline + 1)...]
        }
        append(rest, to: &lines)
        return lines
    }

    /// Adds bytes without a line break to the line being built, cutting it at `maxLineBytes`.
    private mutating func append(_ bytes: Slice<UnsafeRawBufferPointer>, to lines: inout [String]) {
        var rest = bytes
        while !rest.isEmpty {
            let room = maxLineBytes - pending.count
            pending.append(contentsOf: rest.prefix(room))
            rest = rest.dropFirst(room)
            if pending.count >= maxLineBytes { lines.append(take()) }
        }
    }

    private static func decode(_ bytes: UnsafeRawBufferPointer) -> String {
        var end = bytes.count
        if end > 0, bytes[end - 1] == UInt8(ascii: "\r") { end -= 1 }
        return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[0..<end]), as: UTF8.self)
    }

    /// The unterminated last line, if any.
    mutating func finish() -> String? { pending.isEmpty ? nil : take() }

    private mutating func take() -> String {
        if pending.last == UInt8(ascii: "\r") { pending.removeLast() }
        let line = String(decoding: pending, as: UTF8.self)
        pending.removeAll(keepingCapacity: true)
        return line
    }
}

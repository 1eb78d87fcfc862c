/// Cuts a byte stream into lines. A line longer than `maxLineBytes` is emitted in pieces instead of
/// growing without bound, so memory stays bounded whatever a script prints.
struct LineSplitter {
    let maxLineBytes: Int
    private var pending: [UInt8] = []

    init(maxLineBytes: Int = 64 * 1024) { self.maxLineBytes = maxLineBytes }

    /// Appends `bytes` and returns every line completed by them, without their line breaks.
    mutating func feed(_ bytes: UnsafeRawBufferPointer) -> [String] {
        var lines: [String] = []
        for byte in bytes {
            if byte == UInt8(ascii: "\n") {
                lines.append(take())
            } else {
                pending.append(byte)
                if pending.count >= maxLineBytes { lines.append(take()) }
            }
        }
        return lines
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

import Foundation

/// The shell examples of a docs page: each `$ command` of a fenced `sh` block with the output
/// shown under it. A block right after a line `<!-- docs-test: skip … -->` is not run (the
/// comment says why); a block with no `$` prompt is a file or a script, not a session.
struct DocsPage {
    struct Example {
        /// 1-based line of the `$` in the page.
        let line: Int
        let command: String
        var expected: [String]
        /// Lines of the page holding the expected output, for rewriting it.
        let outputLines: Range<Int>
    }

    let path: String
    let lines: [String]
    let examples: [Example]

    static let skipMarker = "<!-- docs-test: skip"

    init(path: String) throws {
        self.path = path
        lines = try String(contentsOfFile: path, encoding: .utf8).components(separatedBy: "\n")
        var examples: [Example] = []
        var index = 0
        while index < lines.count {
            defer { index += 1 }
            guard lines[index] == "```sh" else { continue }
            let skipped = index > 0 && lines[index - 1].hasPrefix(Self.skipMarker)
            var end = index + 1
            while end < lines.count && lines[end] != "```" { end += 1 }
            if !skipped { examples += Self.examples(in: lines, from: index + 1, to: end) }
            index = end
        }
        self.examples = examples
    }

    /// Splits a block into commands (a command goes on while a quote or heredoc is open, or a line
    /// ends with `\`) and the output lines that follow each.
    private static func examples(in lines: [String], from start: Int, to end: Int) -> [Example] {
        var examples: [Example] = []
        var index = start
        while index < end {
            guard lines[index].hasPrefix("$ ") else {
                index += 1
                continue
            }
            let first = index
            var command = String(lines[index].dropFirst(2))
            var scanner = ShellInputScanner()
            scanner.feed(line: command)
            index += 1
            while !scanner.isComplete && index < end {
                command += "\n" + lines[index]
                scanner.feed(line: lines[index])
                index += 1
            }
            let outputStart = index
            while index < end && !lines[index].hasPrefix("$ ") { index += 1 }
            examples.append(Example(line: first + 1, command: command, expected: Array(lines[outputStart..<index]), outputLines: outputStart..<index))
        }
        return examples
    }
}

/// Whether shell input typed so far is a whole command: no open quote, no trailing backslash, no
/// heredoc waiting for its terminator.
struct ShellInputScanner {
    private var inSingle = false
    private var inDouble = false
    private var escaped = false
    private var endsWithBackslash = false
    private var heredocTerminators: [String] = []
    private var currentLine = ""
    /// After a `#` that starts a word outside quotes: the rest of the line is a comment.
    private var inComment = false

    var isComplete: Bool { !inSingle && !inDouble && !endsWithBackslash && heredocTerminators.isEmpty }

    /// One line of input, without its line break.
    mutating func feed(line: String) {
        for character in line {
            let previous = currentLine.last
            currentLine.append(character)
            if !heredocTerminators.isEmpty || inComment { continue }
            if character == "#", !inSingle, !inDouble, !escaped, previous == nil || previous == " " || previous == "\t" {
                inComment = true
                continue
            }
            if escaped {
                escaped = false
                continue
            }
            switch character {
            case "\\" where !inSingle: escaped = true
            case "'" where !inDouble: inSingle.toggle()
            case "\"" where !inSingle: inDouble.toggle()
            default: break
            }
        }
        endsWithBackslash = escaped && currentLine.hasSuffix("\\")
        endLine()
    }

    private mutating func endLine() {
        if let terminator = heredocTerminators.first {
            if currentLine == terminator { heredocTerminators.removeFirst() }
        } else if !inSingle && !inDouble {
            // `<<'EOF'`, `<<"EOF"`, `<<EOF` and `<<-EOF` start heredocs whose bodies follow this line.
            let pattern = #"<<-?\s*['"]?([A-Za-z_][A-Za-z0-9_]*)['"]?"#
            let regex = try? NSRegularExpression(pattern: pattern)
            let range = NSRange(currentLine.startIndex..., in: currentLine)
            for match in regex?.matches(in: currentLine, range: range) ?? [] {
                if let name = Range(match.range(at: 1), in: currentLine) { heredocTerminators.append(String(currentLine[name])) }
            }
        }
        escaped = false
        inComment = false
        currentLine = ""
    }
}

/// A port the pages show (5001: the server; 5002: a webhook receiver; 2525: an SMTP server) and
/// the one it really is in a run of the examples.
struct DocsPort {
    var shown: Int
    var real: Int
}

/// What may differ between a run and the page: times, durations, secrets, the port, and the
/// working directory (shown as `/home/ana/cronium`, where the pages' reader runs `cronium serve`).
/// Both sides are normalised, and `…` in the page stands for anything (a line of `…`: any lines).
enum DocsOutput {
    static let shownDirectory = "/home/ana/cronium"

    /// What a run printed, as a page shows it: the reader's ports (`ports`: each real port and
    /// the one the page shows) and directory, secrets cut short.
    static func shown(_ output: String, ports: [DocsPort], directory: String) -> String {
        var text = output.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: directory, with: shownDirectory)
        for port in ports {
            text = text.replacingOccurrences(of: "127.0.0.1:\(port.real)", with: "127.0.0.1:\(port.shown)")
                .replacingOccurrences(of: "localhost:\(port.real)", with: "localhost:\(port.shown)")
        }
        return
            text
            .replacingOccurrences(of: #"(crn_[A-Za-z0-9_\-]{8})[A-Za-z0-9_\-]+"#, with: "$1…", options: .regularExpression)
            .replacingOccurrences(of: #"(eyJ[A-Za-z0-9_\-]{5})[A-Za-z0-9_\-.]+"#, with: "$1…", options: .regularExpression)
    }

    static let replacements: [(pattern: String, placeholder: String)] = [
        (#"\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:?\d\d)?"#, "<time>"),
        (#"(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d GMT"#, "<http-date>"),
        (#"crn_[A-Za-z0-9_\-]+…?"#, "<token>"),
        (#"eyJ[A-Za-z0-9_\-.]+…?"#, "<runtime-token>"),
        (#"\b\d+(\.\d+)? ?ms\b"#, "<ms>"),
        (#"Content-Length: \d+"#, "Content-Length: <n>"),
        (#"(password:? |"password":")[A-Za-z0-9]{20}"#, "$1<password>"),
    ]

    static func normalise(_ text: String, ports: [DocsPort], directory: String) -> String {
        var result = shown(text, ports: ports, directory: directory)
        for (pattern, placeholder) in replacements {
            result = result.replacingOccurrences(of: pattern, with: placeholder, options: .regularExpression)
        }
        // Table columns widen with what they hold: any run of spaces between cells is one gap.
        return result.split(separator: "\n", omittingEmptySubsequences: false)
            .map {
                $0.replacingOccurrences(of: "\\s+$", with: "", options: .regularExpression).replacingOccurrences(
                    of: "  +",
                    with: "  ",
                    options: .regularExpression
                )
            }
            .joined(separator: "\n").trimmingCharacters(in: .newlines)
    }

    /// Whether `actual` fits `expected`, both normalised.
    static func matches(expected: String, actual: String) -> Bool {
        if expected == actual { return true }
        guard expected.contains("…") else { return false }
        // Each line carries its own newline, so a line of `…` may stand for no lines at all.
        let pattern = expected.components(separatedBy: "\n").map { line -> String in
            if line == "…" { return #"(?:[^\n]*\n)*?"# }
            return line.components(separatedBy: "…").map(NSRegularExpression.escapedPattern(for:)).joined(separator: #"[^\n]*"#) + "\n"
        }.joined()
        return (actual + "\n").range(of: "^" + pattern + "$", options: .regularExpression) != nil
    }
}

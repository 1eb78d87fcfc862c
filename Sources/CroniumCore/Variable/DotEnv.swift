import Foundation

/// Variables as a `.env` file: `KEY=value` a line, `export ` allowed before the key, values bare,
/// in double quotes (with `\n`, `\"`, `\\` escapes) or in single quotes (taken as they are),
/// `#` comments. A `# secret` line marks the variable after it as a secret, which is how an
/// export writes secrets, so a file exported with its secrets imports them as secrets again.
public enum DotEnv {
    public struct Entry: Equatable, Sendable {
        public var key: String
        public var value: String
        public var secret: Bool

        public init(key: String, value: String, secret: Bool) {
            self.key = key
            self.value = value
            self.secret = secret
        }
    }

    public struct ParseError: Error, Equatable, CustomStringConvertible {
        public let line: Int
        public let message: String
        public var description: String { "line \(line): \(message)" }
    }

    public static func parse(_ text: String) throws(ParseError) -> [Entry] {
        var entries: [Entry] = []
        var secretNext = false
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var line = raw.trimmingCharacters(in: .whitespaces)
            if line.hasSuffix("\r") { line.removeLast() }
            if line.isEmpty { continue }
            if line.hasPrefix("#") {
                secretNext = line.dropFirst().trimmingCharacters(in: .whitespaces).lowercased() == "secret"
                continue
            }
            if line.hasPrefix("export ") { line = String(line.dropFirst(7)).trimmingCharacters(in: .whitespaces) }
            guard let equals = line.firstIndex(of: "=") else { throw ParseError(line: index + 1, message: "expected KEY=value") }
            let key = line[..<equals].trimmingCharacters(in: .whitespaces)
            entries.append(Entry(key: key, value: try value(String(line[line.index(after: equals)...]), line: index + 1), secret: secretNext))
            secretNext = false
        }
        return entries
    }

    public static func render(_ entries: [Entry]) -> String {
        entries.map { entry in
            let escaped = entry.value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
                .replacingOccurrences(of: "\n", with: "\\n").replacingOccurrences(of: "$", with: "\\$")
            return (entry.secret ? "# secret\n" : "") + "\(entry.key)=\"\(escaped)\"\n"
        }.joined()
    }

    private static func value(_ text: String, line: Int) throws(ParseError) -> String {
        let text = text.trimmingCharacters(in: .whitespaces)
        if text.hasPrefix("'") {
            guard text.count >= 2, text.hasSuffix("'") else { throw ParseError(line: line, message: "the single quote is not closed") }
            return String(text.dropFirst().dropLast())
        }
        guard text.hasPrefix("\"") else {
            // A bare value ends at a comment.
            return text.components(separatedBy: " #").first?.trimmingCharacters(in: .whitespaces) ?? text
        }
        var result = ""
        var escaping = false
        for character in text.dropFirst() {
            if escaping {
                switch character {
                case "n": result.append("\n")
                case "t": result.append("\t")
                case "r": result.append("\r")
                default: result.append(character)
                }
                escaping = false
            } else if character == "\\" {
                escaping = true
            } else if character == "\"" {
                return result
            } else {
                result.append(character)
            }
        }
        throw ParseError(line: line, message: "the double quote is not closed")
    }
}

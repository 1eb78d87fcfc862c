import Foundation
import Yams

/// `cronium.yaml`: `serve`'s options as `key: value` lines, the keys being the options' long
/// names (`max-concurrent-runs: 4`, `sandbox-ro-bind: [/opt/tools, /srv/data]`). Anything it
/// does not know is an error naming the line, not something silently ignored: a misspelt key
/// would otherwise leave a setting at its default without anyone noticing.
enum ConfigurationFile {
    struct Entry {
        let values: [String]
        let line: Int
    }

    /// The file's settings by key; nil when the file does not exist and is not `required`.
    static func read(path: String, required: Bool, options: [ServeOption]) throws -> [String: Entry]? {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            throw CLIError("the configuration file \(path) is a directory; give the file (cronium.yaml)", code: .usage)
        }
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch CocoaError.fileReadNoSuchFile where !required {
            return nil
        } catch CocoaError.fileReadNoSuchFile {
            throw CLIError("the configuration file \(path) does not exist", code: .usage)
        } catch {
            throw CLIError(
                "cannot read the configuration file \(path): \(String(cString: strerror(access(path, R_OK) == 0 ? EIO : errno)))",
                code: .usage
            )
        }
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            let (line, problem) = describe(error)
            throw CLIError("\(path)\(line.map { ":\($0)" } ?? ""): not valid YAML: \(problem)", code: .usage)
        }
        guard let root else { return [:] }
        guard let mapping = root.mapping else {
            throw CLIError("\(path):\(root.mark?.line ?? 1): expected settings as 'key: value' lines", code: .usage)
        }
        var entries: [String: Entry] = [:]
        for (keyNode, valueNode) in mapping {
            let line = keyNode.mark?.line ?? 0
            let key = keyNode.string ?? ""
            let known = options.map(\.key).filter { $0 != ServeOption.config.key }
            guard let option = options.first(where: { $0.key == key }), known.contains(key) else {
                throw CLIError("\(path):\(line): unknown setting '\(key)'\(suggestion(for: key, among: known))", code: .usage)
            }
            entries[key] = Entry(values: try values(of: valueNode, option: option, at: "\(path):\(line)"), line: line)
        }
        return entries
    }

    private static func values(of node: Node, option: ServeOption, at place: String) throws -> [String] {
        switch node {
        case .scalar(let scalar) where scalar.string.isEmpty && scalar.style == .plain:
            throw CLIError("\(place): '\(option.key)' has no value", code: .usage)
        case .scalar(let scalar):
            return [scalar.string]
        case .sequence(let sequence) where option.repeating:
            return try sequence.map { item in
                guard let value = item.scalar?.string else {
                    throw CLIError("\(place): each of '\(option.key)' is one value, not a list or a mapping", code: .usage)
                }
                return value
            }
        case .sequence:
            throw CLIError("\(place): '\(option.key)' takes one value, not a list", code: .usage)
        case .mapping, .alias:
            throw CLIError("\(place): '\(option.key)' takes \(option.repeating ? "a value or a list" : "one value"), not a mapping", code: .usage)
        }
    }

    /// Yams's problem in one line, and the line it is on.
    private static func describe(_ error: YamlError) -> (line: Int?, problem: String) {
        switch error {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _), .composer(_, let problem, let mark, _):
            return (mark.line, problem)
        case .duplicatedKeysInMapping(let duplicates, let context):
            return (context.mark.line, "\(duplicates.sorted().map { "'\($0)'" }.joined(separator: ", ") ) set more than once")
        default:
            return (nil, "\(error)".split(separator: "\n").first.map(String.init) ?? "")
        }
    }

    /// "; did you mean 'port'?" for a key one or two edits from a known one.
    static func suggestion(for key: String, among known: [String]) -> String {
        let closest = known.map { ($0, editDistance(key, $0)) }.min { $0.1 < $1.1 }
        guard let closest, closest.1 <= 2 else { return " (the settings are serve's options without '--'; see cronium serve --help)" }
        return "; did you mean '\(closest.0)'?"
    }

    /// Levenshtein distance, for the suggestion above.
    private static func editDistance(_ a: String, _ b: String) -> Int {
        let (a, b) = (Array(a), Array(b))
        var previous = Array(0...b.count)
        for (i, x) in a.enumerated() {
            var current = [i + 1]
            for (j, y) in b.enumerated() {
                current.append(Swift.min(previous[j + 1] + 1, current[j] + 1, previous[j] + (x == y ? 0 : 1)))
            }
            previous = current
        }
        return previous[b.count]
    }
}

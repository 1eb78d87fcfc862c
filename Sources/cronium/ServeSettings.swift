import ArgumentParser
import Foundation
import Yams

/// Where `serve`'s settings come from, and which wins: a flag over the environment
/// (`CRONIUM_MAX_CONCURRENT_RUNS=4`) over the configuration file (`max-concurrent-runs: 4`) over
/// the default. The settings are `Serve`'s own options, read from its help's description: the
/// environment and the file name them the same way, so each has one definition, one help text
/// and one validation, and a new option is configurable everywhere at once.
struct ServeSettings {
    /// Where a setting's value came from.
    enum Source: Equatable, CustomStringConvertible {
        case flag
        case environment(String)
        case file(String, line: Int)
        case defaultValue

        var description: String {
            switch self {
            case .flag: "flag"
            case .environment(let name): name
            case .file(let path, let line): "\(path):\(line)"
            case .defaultValue: "default"
            }
        }
    }

    /// One option and its effective value; `values` is empty when it is unset (an option
    /// without a default) and holds several for a repeatable one.
    struct Setting {
        let option: ServeOption
        let values: [String]
        let source: Source
    }

    /// What `Serve` is parsed from: the command line's arguments, then, for each option they
    /// leave out, the environment's or the file's values.
    let arguments: [String]
    let settings: [Setting]
    /// The configuration file that was read; nil when there was none.
    let file: String?
    /// The default file's path when it was looked for and not found.
    let missingDefaultFile: String?

    static let fileName = "cronium.yaml"

    /// Resolves `serve`'s settings from its command-line `arguments` (without `serve`), the
    /// `environment` and the configuration file, checking every value taken from the last two
    /// on its own, so that a bad one is reported with where it came from.
    static func resolve(arguments: [String], environment: [String: String]) throws -> ServeSettings {
        let options = ServeOption.all
        let given = try givenValues(arguments, options: options)
        func environmentValues(_ option: ServeOption) -> [String]? {
            guard let value = environment[option.environmentName], !value.isEmpty else { return nil }
            return option.repeating ? value.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } : [value]
        }
        let config = ServeOption.config
        let dataDirectory =
            given["data-dir"]?.last ?? environmentValues(ServeOption.named("data-dir"))?.last ?? ServeOption.named("data-dir").defaults.last ?? "."
        let explicitFile = given[config.key]?.last ?? environmentValues(config)?.last
        let path = explicitFile ?? URL(fileURLWithPath: dataDirectory).appendingPathComponent(fileName).standardizedFileURL.path
        let fileValues = try ConfigurationFile.read(path: path, required: explicitFile != nil, options: options)

        var merged = arguments
        var settings: [Setting] = []
        for option in options {
            if let values = given[option.key] {
                settings.append(Setting(option: option, values: values, source: .flag))
                continue
            }
            let taken: (values: [String], source: Source)? =
                if let values = environmentValues(option) {
                    (values, .environment(option.environmentName))
                } else if let entry = fileValues?[option.key] {
                    (entry.values, .file(path, line: entry.line))
                } else {
                    nil
                }
            guard let taken else {
                settings.append(Setting(option: option, values: option.defaults, source: .defaultValue))
                continue
            }
            let arguments = try option.arguments(taken.values, source: taken.source)
            do {
                _ = try Serve.parse(arguments)
            } catch {
                throw CLIError("\(taken.source): \(Serve.message(for: error))", code: .usage)
            }
            merged += arguments
            settings.append(Setting(option: option, values: taken.values, source: taken.source))
        }
        return ServeSettings(
            arguments: merged,
            settings: settings,
            file: fileValues == nil ? nil : path,
            missingDefaultFile: fileValues == nil && explicitFile == nil ? path : nil
        )
    }

    /// The options the command line sets, with their values (`--port 80`, `--port=80`).
    private static func givenValues(_ arguments: [String], options: [ServeOption]) throws -> [String: [String]] {
        var given: [String: [String]] = [:]
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            index += 1
            guard argument.hasPrefix("--"), argument != "--" else { continue }
            let name = String(argument.dropFirst(2).prefix { $0 != "=" })
            guard let option = options.first(where: { $0.key == name }) else { continue }
            if option.isFlag {
                given[name, default: []].append("true")
            } else if let equals = argument.firstIndex(of: "=") {
                given[name, default: []].append(String(argument[argument.index(after: equals)...]))
            } else if index < arguments.count {
                given[name, default: []].append(arguments[index])
                index += 1
            }
        }
        return given
    }
}

/// One of `serve`'s options, as its help describes it.
struct ServeOption: Sendable {
    /// The long name without `--`: the configuration file's key.
    let key: String
    let isFlag: Bool
    let repeating: Bool
    /// The default's value(s) as the help shows them; empty when the option has none.
    let defaults: [String]
    let abstract: String

    /// `CRONIUM_` and the key in capitals, dashes made underscores.
    var environmentName: String { "CRONIUM_" + key.uppercased().replacingOccurrences(of: "-", with: "_") }

    /// Every option of `serve` but `--help`, from ArgumentParser's description of the command
    /// (the one `--experimental-dump-help` prints).
    static let all: [ServeOption] = {
        struct Dump: Decodable {
            struct Command: Decodable { let arguments: [Argument]? }
            struct Argument: Decodable {
                struct Name: Decodable {
                    let kind: String
                    let name: String
                }
                let kind: String
                let isRepeating: Bool
                let preferredName: Name?
                let defaultValue: String?
                let abstract: String?
            }
            let command: Command
        }
        // The dump is made by ArgumentParser from `Serve`'s own declarations; a failure here is
        // a programming error, caught by ServeSettingsTests.
        let dump = try? JSONDecoder().decode(Dump.self, from: Data(Serve._dumpHelp().utf8))
        return (dump?.command.arguments ?? []).compactMap { argument in
            guard let name = argument.preferredName, name.kind == "long", argument.kind != "positional", name.name != "help" else { return nil }
            let defaults = argument.defaultValue.map { argument.isRepeating ? [] : [$0] } ?? []
            return ServeOption(
                key: name.name,
                isFlag: argument.kind == "flag",
                repeating: argument.isRepeating,
                defaults: defaults,
                abstract: argument.abstract ?? ""
            )
        }
    }()

    static func named(_ key: String) -> ServeOption {
        guard let option = all.first(where: { $0.key == key }) else { preconditionFailure("serve has no option --\(key)") }
        return option
    }

    static var config: ServeOption { named("config") }

    /// The command-line form of `values` taken from `source`.
    func arguments(_ values: [String], source: ServeSettings.Source) throws -> [String] {
        guard isFlag else { return values.map { "--\(key)=\($0)" } }
        switch values.last?.lowercased() {
        case "true", "yes", "on", "1": return ["--\(key)"]
        case "false", "no", "off", "0": return []
        default: throw CLIError("\(source): \(key) is true or false, not '\(values.last ?? "")'", code: .usage)
        }
    }
}

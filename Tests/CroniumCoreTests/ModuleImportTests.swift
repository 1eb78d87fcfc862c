import Foundation
import Testing

/// docs/architecture.md's table of targets says which of our modules each one depends on; this
/// reads the `import` lines of every target's sources and holds the table to them, both ways.
@Suite struct ModuleImportTests {
    /// The repository, found from this file's path (Tests/CroniumCoreTests/…).
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Our modules, by the short names the table uses.
    static let ours: [String: String] = [
        "CroniumCore": "Core", "CroniumStore": "Store", "CroniumExecutors": "Executors", "CroniumEngine": "Engine",
        "CroniumServer": "Server", "CroniumHelpers": "Helpers", "CroniumRunnerKit": "RunnerKit", "CroniumTesting": "Testing",
        "CroniumWeb": "Web", "CCroniumSystem": "CCroniumSystem", "CZlib": "CZlib", "CCroniumBuild": "CCroniumBuild",
    ]

    @Test func theTableOfTargetsListsWhatEachImports() throws {
        let document = try String(contentsOf: Self.root.appendingPathComponent("docs/architecture.md"), encoding: .utf8)
        var table: [String: Set<String>] = [:]
        for line in document.split(separator: "\n") where line.hasPrefix("| `") {
            let cells = line.split(separator: "|", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count >= 4 else { continue }
            let target = cells[1].trimmingCharacters(in: CharacterSet(charactersIn: "`"))
            let names = cells[cells.count - 2].split(separator: ",").compactMap { $0.split(separator: " ").first.map(String.init) }
            table[target] = Set(names.filter { Self.ours.values.contains($0) })
        }
        let directories =
            [
                "CroniumCore", "CroniumStore", "CroniumExecutors", "CroniumEngine", "CroniumServer", "CroniumRunnerKit", "CroniumTesting",
                "cronium", "cronium-runner",
            ].map { ($0, "Sources/\($0)") } + [("CroniumBench", "Benchmarks/CroniumBench")]
        for (target, directory) in directories {
            let imported = try Self.imports(in: Self.root.appendingPathComponent(directory))
            let listed = try #require(table[target], "docs/architecture.md has no row for \(target)")
            #expect(imported == listed, "\(target) imports \(imported.sorted()), the table says \(listed.sorted())")
        }
    }

    /// Our modules imported by the Swift files under `directory`, by their short names.
    static func imports(in directory: URL) throws -> Set<String> {
        var found: Set<String> = []
        let files = FileManager.default.enumerator(at: directory, includingPropertiesForKeys: nil)?.compactMap { $0 as? URL } ?? []
        for file in files where file.pathExtension == "swift" {
            for line in try String(contentsOf: file, encoding: .utf8).split(separator: "\n") {
                let words = line.split(separator: " ")
                guard let at = words.firstIndex(of: "import"), at + 1 < words.count, at == 0 || words[0] == "@testable" else { continue }
                if let name = ours[String(words[at + 1])] { found.insert(name) }
            }
        }
        return found
    }
}

import CroniumCore
import CroniumHelpers
import Crypto
import Foundation

/// The runner images: one per language, built with no registry from Debian packages
/// (`mmdebstrap`, using this machine's apt sources), with the helper libraries, and imported into
/// the container engine. Each carries a hash of what it was built from, so a build skips an image
/// that is up to date.
public struct RunnerImages: Sendable {
    public struct Recipe: Sendable {
        public let type: EventType
        public let image: String
        public let packages: [String]
    }

    /// Bash's helpers need curl; Python's and Node's use their standard libraries.
    public static let recipes: [Recipe] = [
        Recipe(type: .bash, image: "cronium/runner:bash", packages: ["bash", "ca-certificates", "curl"]),
        Recipe(type: .python, image: "cronium/runner:python", packages: ["bash", "ca-certificates", "python3"]),
        Recipe(type: .nodejs, image: "cronium/runner:node", packages: ["bash", "ca-certificates", "nodejs"]),
    ]

    /// The label holding the inputs' hash.
    public static let inputsLabel = "cronium.inputs"
    /// Raised when the recipe itself changes, so that images built by an older one are rebuilt.
    static let recipeVersion = "1"
    /// Where the helper libraries live in the image (a run gets its own copy at /run/cronium/helpers).
    static let helpersPath = "/opt/cronium/helpers"

    public let client: DockerClient
    /// The Debian suite (this machine's, from /etc/os-release) and the apt sources to build from.
    public let suite: String
    public let sources: [String]

    public init(client: DockerClient, suite: String? = nil, sources: [String]? = nil) {
        self.client = client
        self.suite = suite ?? Self.hostSuite() ?? "bookworm"
        self.sources = sources ?? Self.hostSources()
    }

    /// This machine's release name (`bookworm`).
    static func hostSuite() -> String? {
        guard let text = try? String(contentsOfFile: "/etc/os-release", encoding: .utf8) else { return nil }
        return text.split(separator: "\n").first { $0.hasPrefix("VERSION_CODENAME=") }.map { String($0.dropFirst("VERSION_CODENAME=".count)) }
    }

    /// The apt source files mmdebstrap reads (`sources.list` and `sources.list.d/*.list|.sources`).
    static func hostSources() -> [String] {
        var files = ["/etc/apt/sources.list"].filter { ((try? FileManager.default.attributesOfItem(atPath: $0)[.size]) as? Int ?? 0) > 0 }
        let directory = "/etc/apt/sources.list.d"
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        files += entries.filter { $0.hasSuffix(".list") || $0.hasSuffix(".sources") }.sorted().map { "\(directory)/\($0)" }
        return files
    }

    /// What an image is built from, as a hash: the recipe, the suite, the sources and the helpers.
    public func inputsHash(_ recipe: Recipe) -> String {
        var hasher = SHA256()
        func add(_ text: String) { hasher.update(data: Data("\(text)\n".utf8)) }
        add(Self.recipeVersion)
        add(suite)
        add(recipe.packages.joined(separator: ","))
        for file in sources { add((try? String(contentsOfFile: file, encoding: .utf8)) ?? file) }
        for file in HelperFiles.all {
            add(file.path)
            hasher.update(data: Data(file.contents))
        }
        return hasher.finalize().map { String(format: "%02x", $0) }.joined().prefix(16).description
    }

    public enum State: Sendable, Equatable {
        case missing
        case outdated(id: String)
        case upToDate(id: String)
    }

    public func state(of recipe: Recipe) async throws(DockerError) -> State {
        guard let info = try await client.image(recipe.image) else { return .missing }
        return info.labels[Self.inputsLabel] == inputsHash(recipe) ? .upToDate(id: info.id) : .outdated(id: info.id)
    }

    /// Builds one image into a temporary tar file and imports it; `progress` hears each step.
    public func build(_ recipe: Recipe, progress: @Sendable (String) -> Void) async throws -> String {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("cronium-image-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let helpers = "\(scratch)/helpers"
        try HelperDirectory.write(HelperFiles.all, under: helpers)
        let previous = try await client.image(recipe.image)?.id
        let tar = "\(scratch)/rootfs.tar"
        let started = ContinuousClock.now
        progress("mmdebstrap \(suite): \(recipe.packages.joined(separator: ", "))")
        try await mmdebstrap(recipe, helpers: helpers, output: tar)
        let size = ((try? FileManager.default.attributesOfItem(atPath: tar)[.size]) as? NSNumber)?.int64Value ?? 0
        progress("importing \(size >> 20) MiB into the engine")
        let (repository, tag) = Self.split(recipe.image)
        let id = try await client.importImage(
            tarFile: tar,
            repository: repository,
            tag: tag,
            changes: [
                "LABEL \(Self.inputsLabel)=\(inputsHash(recipe))",
                "WORKDIR /work", "USER 1000:1000",
                "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                "ENV PYTHONPATH=\(Self.helpersPath)/python", "ENV NODE_PATH=\(Self.helpersPath)/node",
                "ENV BASH_ENV=\(Self.helpersPath)/bash/autoload.sh", "ENV LANG=C.UTF-8",
            ]
        )
        progress("built in \(Int((ContinuousClock.now - started).components.seconds)) s: \(id.prefix(19))")
        // The image it replaces, now without a name, goes (unless a container still uses it).
        if let previous, previous != id { try? await client.removeImage(previous) }
        return id
    }

    /// Runs mmdebstrap; its own messages are shown only when it fails.
    private func mmdebstrap(_ recipe: Recipe, helpers: String, output: String) async throws {
        let arguments =
            [
                "--variant=minbase", "--quiet", "--include=\(recipe.packages.joined(separator: ","))",
                // Documentation, manuals and translations: nothing a run reads.
                "--dpkgopt=path-exclude=/usr/share/doc/*", "--dpkgopt=path-include=/usr/share/doc/*/copyright",
                "--dpkgopt=path-exclude=/usr/share/man/*", "--dpkgopt=path-exclude=/usr/share/info/*",
                "--dpkgopt=path-exclude=/usr/share/locale/*",
                "--customize-hook=mkdir -p \"$1\(Self.helpersPath)\" && cp -r \(helpers)/. \"$1\(Self.helpersPath)/\" && chmod -R a+rX \"$1/opt/cronium\"",
                "--customize-hook=echo 'cronium:x:1000:1000:Cronium run:/work:/bin/bash' >> \"$1/etc/passwd\"; echo 'cronium:x:1000:' >> \"$1/etc/group\"",
                "--customize-hook=rm -rf \"$1/var/lib/apt/lists\"/* \"$1/var/cache/apt\"/*",
                suite, output,
            ] + sources
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/mmdebstrap")
        process.arguments = arguments
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = errors
        do { try process.run() } catch {
            throw DockerError(.local, "cannot run mmdebstrap (install it: apt-get install mmdebstrap): \(error.localizedDescription)")
        }
        let text: String = await withCheckedContinuation { continuation in
            Thread.detachNewThread {
                let data = errors.fileHandleForReading.readDataToEndOfFile()
                process.waitUntilExit()
                continuation.resume(returning: String(decoding: data, as: UTF8.self))
            }
        }
        guard process.terminationStatus == 0 else {
            let tail = text.split(separator: "\n").suffix(15).joined(separator: "\n")
            throw DockerError(.local, "mmdebstrap failed (status \(process.terminationStatus)) building \(recipe.image):\n\(tail)")
        }
    }

    /// `cronium/runner:python` → (`cronium/runner`, `python`).
    static func split(_ image: String) -> (String, String) {
        guard let colon = image.lastIndex(of: ":"), !image[colon...].contains("/") else { return (image, "latest") }
        return (String(image[..<colon]), String(image[image.index(after: colon)...]))
    }
}

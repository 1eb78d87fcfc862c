import ArgumentParser
import CroniumCore
import CroniumEngine
import Foundation

/// `cronium images build|list`: the runner images of `CONTAINER` runs, on this machine's engine.
struct ImagesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "images",
        abstract: "Build and list the runner images of container runs (no server needed).",
        subcommands: [Build.self, List.self]
    )

    struct EngineOptions: ParsableArguments {
        @Option(help: "The Docker or Podman API socket (default: CRONIUM_CONTAINER_SOCKET, DOCKER_HOST, or the usual paths).")
        var containerSocket: String?

        func images() async throws -> ContainerImages {
            do { return try await ContainerImages.open(socket: containerSocket) } catch {
                throw CLIError("\(error)", code: .unreachable)
            }
        }
    }

    /// The images named by `--only` (all when none).
    static func images(_ only: [String]) throws -> [String] {
        let names = Dictionary(uniqueKeysWithValues: ContainerImages.names.map { ($0.short, $0.image) })
        if only.isEmpty { return ContainerImages.names.map(\.image) }
        return try only.map { name in
            guard let image = names[name] else { throw ValidationError("--only \(name): not an image; give bash, python or node") }
            return image
        }
    }

    struct Build: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "build",
            abstract: "Build the runner images from Debian packages with mmdebstrap and import them (skips those up to date)."
        )
        @OptionGroup var engine: EngineOptions
        @Option(help: "Only this image: bash, python or node (repeatable).") var only: [String] = []
        @Flag(help: "Build even the images that are up to date.") var force = false

        func run() async throws {
            let wanted = try ImagesCommand.images(only)
            let images = try await engine.images()
            print("Building on \(images.engine) (\(images.socketPath)) from Debian \(images.suite)")
            for (index, image) in wanted.enumerated() {
                let prefix = "[\(index + 1)/\(wanted.count)] \(image)"
                if !force, case .upToDate(let id) = try await images.state(of: image) {
                    print("\(prefix): up to date (\(id.prefix(19)))")
                    continue
                }
                do {
                    _ = try await images.build(image) { step in
                        print("\(prefix): \(step)")
                        fflush(nil)
                    }
                } catch {
                    throw CLIError("\(image): \(error)")
                }
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list",
            abstract: "Show which runner images the engine has, and which are missing or outdated."
        )
        @OptionGroup var engine: EngineOptions

        func run() async throws {
            let images = try await engine.images()
            var rows = [["IMAGE", "STATE", "ID"]]
            var missing = false
            for image in ContainerImages.names.map(\.image) {
                switch try await images.state(of: image) {
                case .missing:
                    missing = true
                    rows.append([image, "missing", "-"])
                case .outdated(let id): rows.append([image, "outdated", String(id.prefix(19))])
                case .upToDate(let id): rows.append([image, "ready", String(id.prefix(19))])
                }
            }
            printColumns(rows)
            if missing { printError("Run `cronium images build` to build the missing images.") }
        }
    }
}

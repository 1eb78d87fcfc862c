import ArgumentParser
import CroniumCore
import CroniumExecutors
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

        func client() async throws -> DockerClient {
            do { return try await ContainerEngine.locate(option: containerSocket).client() } catch {
                throw CLIError(error.description, code: .unreachable)
            }
        }
    }

    /// The recipes named by `--only` (all when none).
    static func recipes(_ only: [String]) throws -> [RunnerImages.Recipe] {
        let names = Dictionary(uniqueKeysWithValues: RunnerImages.recipes.map { (String($0.image.split(separator: ":").last ?? ""), $0) })
        if only.isEmpty { return RunnerImages.recipes }
        return try only.map { name in
            guard let recipe = names[name] else { throw ValidationError("--only \(name): not an image; give bash, python or node") }
            return recipe
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
            let recipes = try ImagesCommand.recipes(only)
            let images = RunnerImages(client: try await engine.client())
            print("Building on \(images.client.engine) (\(images.client.socketPath)) from Debian \(images.suite)")
            for (index, recipe) in recipes.enumerated() {
                let prefix = "[\(index + 1)/\(recipes.count)] \(recipe.image)"
                if !force, case .upToDate(let id) = try await images.state(of: recipe) {
                    print("\(prefix): up to date (\(id.prefix(19)))")
                    continue
                }
                do {
                    _ = try await images.build(recipe) { step in
                        print("\(prefix): \(step)")
                        fflush(nil)
                    }
                } catch {
                    throw CLIError("\(recipe.image): \(error)")
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
            let images = RunnerImages(client: try await engine.client())
            var rows = [["IMAGE", "STATE", "ID"]]
            var missing = false
            for recipe in RunnerImages.recipes {
                switch try await images.state(of: recipe) {
                case .missing:
                    missing = true
                    rows.append([recipe.image, "missing", "-"])
                case .outdated(let id): rows.append([recipe.image, "outdated", String(id.prefix(19))])
                case .upToDate(let id): rows.append([recipe.image, "ready", String(id.prefix(19))])
                }
            }
            printColumns(rows)
            if missing { printError("Run `cronium images build` to build the missing images.") }
        }
    }
}

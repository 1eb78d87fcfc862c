import ArgumentParser

/// `cronium completion bash|zsh|fish`: the shell's completion script, to source or install.
struct CompletionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "completion",
        abstract: "Print the completion script for bash, zsh or fish.",
        discussion: """
            bash: source <(cronium completion bash)   (or save it in /etc/bash_completion.d/cronium)
            zsh:  cronium completion zsh > "${fpath[1]}/_cronium"
            fish: cronium completion fish > ~/.config/fish/completions/cronium.fish
            """
    )
    @Argument(help: "bash, zsh or fish.") var shell: String

    func validate() throws {
        guard CompletionShell(rawValue: shell) != nil else { throw ValidationError("the shell must be bash, zsh or fish") }
    }

    func run() throws {
        print(Cronium.completionScript(for: CompletionShell(rawValue: shell)!))
    }
}

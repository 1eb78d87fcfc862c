import CroniumRunnerKit

#if canImport(Glibc)
    import Glibc
#endif

/// `cronium-runner`: copied to a server by Cronium and started over SSH for each run.
///
/// - `cronium-runner version`: the runner's and its protocol's version, for the handshake.
/// - `cronium-runner run TRUSTED_KEY_FILE`: reads one signed payload from standard input, runs
///   its script, and speaks ``RunnerFrame``s on standard input and output until the script ended.
let arguments = CommandLine.arguments
switch arguments.dropFirst().first {
case "version":
    print("cronium-runner \(RunnerVersion.current) protocol \(RunnerManifest.currentVersion)")
case "run" where arguments.count == 3:
    exit(RunnerSession(trustedKeyFile: arguments[2]).run())
default:
    let message = "usage: cronium-runner version | cronium-runner run TRUSTED_KEY_FILE (Cronium starts it; it is not meant to be run by hand)\n"
    _ = message.withCString { write(2, $0, strlen($0)) }
    exit(64)
}

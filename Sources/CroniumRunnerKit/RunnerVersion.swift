import CCroniumBuild

/// The runner's version, printed by `cronium-runner version`. The server deploys a runner by the
/// checksum of its binary, so this is for people and the handshake, not for deciding re-deploys.
public enum RunnerVersion {
    public static let current = BuildInfo.version
}

/// What this binary is: the release's version, and for a packaged build the commit and the day
/// it was built (`scripts/package.sh` sets them; a build from a checkout has neither).
public enum BuildInfo {
    public static let version = "0.1.0"
    public static let commit: String? = nonEmpty(String(cString: cronium_build_commit()))
    public static let date: String? = nonEmpty(String(cString: cronium_build_date()))

    /// `0.1.0 (commit 1a2b3c4d5e6f, built 2026-12-07)`, or `0.1.0 (built from a checkout)`.
    public static var description: String {
        guard let commit else { return "\(version) (built from a checkout)" }
        return "\(version) (commit \(commit), built \(date ?? "on an unknown day"))"
    }

    private static func nonEmpty(_ text: String) -> String? { text.isEmpty ? nil : text }
}

/// The runner's version, printed by `cronium-runner version`. The server deploys a runner by the
/// checksum of its binary, so this is for people and the handshake, not for deciding re-deploys.
public enum RunnerVersion {
    public static let current = "0.1.0"
}

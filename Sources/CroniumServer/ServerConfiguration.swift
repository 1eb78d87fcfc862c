import CroniumEngine

/// How `cronium serve` runs: where it listens, and the engine node behind it. Every field has a
/// default that works on a fresh machine.
public struct ServerConfiguration: Sendable {
    public var host = "127.0.0.1"
    public var port = 5001
    /// A second listener serving only `/metrics`, without authentication; none when nil.
    public var metricsPort: Int?
    /// Its address; the API's `host` when nil.
    public var metricsHost: String?
    /// `--tls-cert` and `--tls-key`: HTTPS with these PEM files, read again on SIGHUP; plain
    /// HTTP when nil (behind a proxy that terminates TLS).
    public var tlsCertificate: String?
    public var tlsKey: String?
    /// The data directory, the run boundary and everything else of the node.
    public var engine = EngineNode.Configuration()

    public init() {}
}

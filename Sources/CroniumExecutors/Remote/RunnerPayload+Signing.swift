import CroniumRunnerKit
import Crypto
import Foundation

extension RunnerPayload {
    /// A signed payload of `files` with `manifest` (its file hashes filled in): what
    /// ``RunnerPayload/open(_:trusting:)`` on the host accepts from this server's key.
    public static func make(manifest: RunnerManifest, files: [Tar.Entry], signingKey: Curve25519.Signing.PrivateKey) throws -> [UInt8] {
        var manifest = manifest
        for file in files where !file.isDirectory { manifest.files[file.path] = hex(SHA256.hash(data: file.contents)) }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let manifestEntry = Tar.Entry(path: manifestName, contents: Array(try encoder.encode(manifest)) + [0x0A])
        let archive = try Gzip.compress(try Tar.archive([manifestEntry] + files))
        let digest = Array(SHA256.hash(data: archive))
        return digest + Array(try signingKey.signature(for: digest)) + archive
    }
}

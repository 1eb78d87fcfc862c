import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOSSL
import ServiceLifecycle
import UnixSignals

/// `--tls-cert` and `--tls-key`: the PEM files the server answers HTTPS with, read again on
/// SIGHUP. Each handshake asks for the pair in force (NIOSSL's context callback), so a renewed
/// certificate is used from the next connection on, and connections already open keep theirs.
final class TLSCertificates: Sendable {
    struct Files: Sendable {
        let certificate: String
        let key: String
    }

    private struct Pair {
        let chain: [NIOSSLCertificate]
        let key: NIOSSLPrivateKey
    }

    let files: Files
    private let current: NIOLockedValueBox<Pair>

    /// Reads both files, or says which one is wrong and how.
    init(_ files: Files) throws {
        self.files = files
        current = NIOLockedValueBox(try Self.load(files))
    }

    /// Reads the files again; the pair in force stays when they are wrong.
    func reload() throws {
        let pair = try Self.load(files)
        current.withLockedValue { $0 = pair }
    }

    /// What the server's listener is built with.
    var configuration: TLSConfiguration {
        let pair = current.withLockedValue { $0 }
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: pair.chain.map { .certificate($0) },
            privateKey: .privateKey(pair.key)
        )
        configuration.minimumTLSVersion = .tlsv12
        configuration.sslContextCallback = { [current] _, promise in
            let pair = current.withLockedValue { $0 }
            var override = NIOSSLContextConfigurationOverride()
            override.certificateChain = pair.chain.map { .certificate($0) }
            override.privateKey = .privateKey(pair.key)
            promise.succeed(override)
        }
        return configuration
    }

    private static func load(_ files: Files) throws -> Pair {
        for (path, option) in [(files.certificate, "--tls-cert"), (files.key, "--tls-key")] where access(path, R_OK) != 0 {
            throw TLSFileError("cannot read \(path) (\(option)): \(String(cString: strerror(errno)))")
        }
        let chain: [NIOSSLCertificate]
        do { chain = try NIOSSLCertificate.fromPEMFile(files.certificate) } catch {
            throw TLSFileError("\(files.certificate) (--tls-cert) is not a PEM certificate")
        }
        guard !chain.isEmpty else { throw TLSFileError("\(files.certificate) (--tls-cert) is not a PEM certificate") }
        let key: NIOSSLPrivateKey
        do { key = try NIOSSLPrivateKey(file: files.key, format: .pem) } catch {
            throw TLSFileError("\(files.key) (--tls-key) is not a PEM private key without a passphrase")
        }
        // A context made from both checks that the key is the certificate's.
        do {
            _ = try NIOSSLContext(
                configuration: .makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
            )
        } catch {
            throw TLSFileError("the key \(files.key) does not belong to the certificate \(files.certificate)")
        }
        return Pair(chain: chain, key: key)
    }
}

/// A certificate or key file that cannot be used; the line says which and why.
struct TLSFileError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Reloads the certificates on each SIGHUP (`systemctl reload cronium`), logging the outcome.
struct TLSReloader: Service {
    let certificates: TLSCertificates
    let logger: Logger

    func run() async throws {
        let signals = await UnixSignalsSequence(trapping: .sighup)
        await cancelWhenGracefulShutdown {
            for await _ in signals {
                do {
                    try certificates.reload()
                    logger.notice("reloaded the TLS certificate", metadata: ["tls.certificate": "\(certificates.files.certificate)"])
                } catch {
                    logger.error("kept the TLS certificate in force: \(error)")
                }
            }
        }
    }
}

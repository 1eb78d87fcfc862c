import CroniumTesting
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// `cronium serve` as a long-running service: HTTPS with a certificate renewed in place, and
/// systemd's notification protocol. The real binary, real openssl and curl.
@Suite struct ServiceTests {
    /// A self-signed certificate for 127.0.0.1 and its key, made by openssl.
    static func makeCertificate(_ certificate: String, _ key: String) throws {
        let pid = try spawn([
            "/usr/bin/openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out",
            certificate, "-days", "2", "-subj", "/CN=cronium-test", "-addext", "subjectAltName=IP:127.0.0.1",
        ])
        #expect(waitForExit(pid) == 0)
    }

    /// The SHA-256 fingerprint of a certificate file, or of the one a server presents.
    static func fingerprint(file: String? = nil, port: Int? = nil) async throws -> String {
        let source =
            file.map { "openssl x509 -in '\($0)'" } ?? "openssl s_client -connect 127.0.0.1:\(port ?? 0) </dev/null 2>/dev/null | openssl x509"
        let (_, output) = try await shell("\(source) -noout -fingerprint -sha256")
        return output.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Runs `command` in bash; its status and what it printed (stdout and stderr), through a file:
    /// what the command leaves running (podman's conmon) would keep a pipe open after it exits.
    static func shell(_ command: String) async throws -> (Int32, String) {
        try await offThePool {
            let file = NSTemporaryDirectory() + "cronium-shell-\(UUID().uuidString)"
            defer { try? FileManager.default.removeItem(atPath: file) }
            let status = waitForExit(try spawn(["/bin/bash", "-c", command], output: file))
            return (status, (try? String(contentsOfFile: file, encoding: .utf8)) ?? "")
        }
    }

    @Test func httpsWithACertificateRenewedOnSIGHUPKeepsOpenConnections() async throws {
        let directory = try TemporaryDirectory("tls")
        defer { directory.remove() }
        let (certificate, key) = (directory.appending("cert.pem"), directory.appending("key.pem"))
        try Self.makeCertificate(certificate, key)
        let first = try await Self.fingerprint(file: certificate)
        let errors = directory.appending("stderr")
        let server = try await CrashRecoveryTests.ServerProcess.start(
            dataDirectory: directory.appending("data"),
            arguments: ["--tls-cert", certificate, "--tls-key", key, "--log-level", "notice"],
            errors: errors
        )
        defer { server.process.terminate() }
        let health = try await curl(["--cacert", certificate, "https://127.0.0.1:\(server.port)/health"])
        #expect(health.status == 200, "\(health.body)")
        #expect(try await Self.fingerprint(port: server.port) == first)
        // A session's cookie is Secure over HTTPS (the password was shown at the first start).
        let password = try #require(server.firstLines.split(whereSeparator: \.isWhitespace).drop { $0 != "password" }.dropFirst().first)
        let login = try await Self.shell(
            "curl -si --cacert '\(certificate)' https://127.0.0.1:\(server.port)/api/v1/auth/login -H 'Content-Type: application/json' -d '{\"username\":\"admin\",\"password\":\"\(password)\"}'"
        )
        #expect(login.1.contains("HTTP/1.1 200") && login.1.contains("; Secure"), "\(login.1)")

        // A connection opened before the renewal.
        let open = Process()
        open.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        open.arguments = ["s_client", "-quiet", "-connect", "127.0.0.1:\(server.port)", "-CAfile", certificate]
        let (input, output) = (Pipe(), Pipe())
        (open.standardInput, open.standardOutput, open.standardError) = (input, output, FileHandle.nullDevice)
        try open.run()
        defer { open.terminate() }
        /// One whole response on the open connection: its head, then as many bytes as it says.
        func ask(_ path: String) async throws -> String {
            input.fileHandleForWriting.write(Data("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".utf8))
            return try await offThePool {
                var text = ""
                while true {
                    if let end = text.range(of: "\r\n\r\n") {
                        let length = text[..<end.lowerBound].split(separator: "\r\n").first { $0.lowercased().hasPrefix("content-length:") }
                        let expected = Int(length?.split(separator: ":").last?.trimmingCharacters(in: .whitespaces) ?? "") ?? 0
                        if text[end.upperBound...].utf8.count >= expected { return text }
                    }
                    let chunk = output.fileHandleForReading.availableData
                    guard !chunk.isEmpty else { return text }
                    text += String(decoding: chunk, as: UTF8.self)
                }
            }
        }
        #expect(try await ask("/health").hasPrefix("HTTP/1.1 200"))

        // Renewed in place, then SIGHUP: new connections get the new certificate.
        try Self.makeCertificate(certificate, key)
        let second = try await Self.fingerprint(file: certificate)
        #expect(second != first)
        kill(server.serverPid, SIGHUP)
        #expect(try await eventually { try await Self.fingerprint(port: server.port) == second })
        // The old connection goes on, with the old certificate.
        #expect(try await ask("/live").hasPrefix("HTTP/1.1 200"))

        // A broken renewal keeps the pair in force, and says so.
        try "not a certificate".write(toFile: certificate, atomically: true, encoding: .utf8)
        kill(server.serverPid, SIGHUP)
        #expect(
            try await eventually {
                (try String(contentsOfFile: errors, encoding: .utf8)).contains(
                    "kept the TLS certificate in force: \(certificate) (--tls-cert) is not a PEM certificate"
                )
            }
        )
        #expect(try await Self.fingerprint(port: server.port) == second)
        #expect(server.process.isRunning)
        let log = try String(contentsOfFile: errors, encoding: .utf8)
        #expect(log.contains("reloaded the TLS certificate"), "\(log)")
    }

    @Test func aWrongCertificateOrKeyStopsTheStartWithItsReason() async throws {
        let directory = try TemporaryDirectory("tlsbad")
        defer { directory.remove() }
        let (certificate, key) = (directory.appending("cert.pem"), directory.appending("key.pem"))
        let (other, otherKey) = (directory.appending("other.pem"), directory.appending("other-key.pem"))
        try Self.makeCertificate(certificate, key)
        try Self.makeCertificate(other, otherKey)
        let data = directory.appending("data")
        let cases: [([String], Int32, String)] = [
            (["--tls-cert", certificate], 64, "--tls-cert and --tls-key go together"),
            (["--tls-cert", certificate, "--tls-key", otherKey], 1, "the key \(otherKey) does not belong to the certificate \(certificate)"),
            (
                ["--tls-cert", directory.appending("none.pem"), "--tls-key", key], 1,
                "cannot read \(directory.appending("none.pem")) (--tls-cert): No such file or directory"
            ),
            (["--tls-cert", key, "--tls-key", key], 1, "\(key) (--tls-cert) is not a PEM certificate"),
            (["--tls-cert", certificate, "--tls-key", certificate], 1, "\(certificate) (--tls-key) is not a PEM private key without a passphrase"),
        ]
        for (arguments, status, message) in cases {
            let result = try await CLITests.cli(["serve", "--data-dir", data, "--port", "0"] + arguments)
            #expect(result.status == status && result.stderr.contains(message), "\(arguments): \(result.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: "\(data)/cronium.sqlite"))
    }

    /// The protocol systemd speaks with a `Type=notify` service, over a datagram socket of the
    /// test's: READY=1 once it listens, WATCHDOG=1 at half WATCHDOG_USEC, STOPPING=1 on SIGTERM.
    @Test func systemdHearsReadyWatchdogAndStopping() async throws {
        let directory = try TemporaryDirectory("notify")
        defer { directory.remove() }
        let path = directory.appending("notify.sock")
        let socket = Glibc.socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(socket) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            for (index, byte) in path.utf8.enumerated() { buffer[index] = byte }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        #expect(bound == 0)
        var timeout = timeval(tv_sec: 30, tv_usec: 0)
        setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        @Sendable func receive() async throws -> String {
            try await offThePool {
                var buffer = [UInt8](repeating: 0, count: 4096)
                let count = recv(socket, &buffer, buffer.count, 0)
                return count > 0 ? String(decoding: buffer[..<count], as: UTF8.self) : ""
            }
        }
        let server = try await CrashRecoveryTests.ServerProcess.start(
            dataDirectory: directory.appending("data"),
            environment: ["NOTIFY_SOCKET": path, "WATCHDOG_USEC": "400000"]
        )
        defer { server.process.terminate() }
        var messages: [String] = []
        while messages.filter({ $0 == "WATCHDOG=1" }).count < 3 {
            let message = try await receive()
            guard !message.isEmpty else { break }
            messages.append(message)
        }
        let ready = try #require(messages.first { $0.hasPrefix("READY=1") }, "\(messages)")
        #expect(ready.contains("STATUS=listening on port \(server.port)") && ready.contains("MAINPID=\(server.serverPid)"))
        #expect(messages.filter { $0 == "WATCHDOG=1" }.count == 3)
        kill(server.serverPid, SIGTERM)
        var stopping = ""
        while !stopping.hasPrefix("STOPPING=1") {
            stopping = try await receive()
            guard !stopping.isEmpty else { break }
        }
        #expect(stopping.hasPrefix("STOPPING=1"))
        #expect(try await eventually { !server.process.isRunning })
    }

    /// The unit file as shipped, checked by systemd itself (with this checkout's binary at the
    /// path the unit names).
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/systemd-analyze")))
    func theServiceUnitIsOneSystemdAccepts() async throws {
        let directory = try TemporaryDirectory("unit")
        defer { directory.remove() }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let unit = try String(contentsOf: root.appendingPathComponent("packaging/cronium.service"), encoding: .utf8)
        #expect(unit.contains("ExecStart=/usr/local/bin/cronium serve"))
        let path = directory.appending("cronium.service")
        try unit.replacingOccurrences(of: "/usr/local/bin/cronium", with: CLITests.binary).write(toFile: path, atomically: true, encoding: .utf8)
        let (status, output) = try await Self.shell("/usr/bin/systemd-analyze verify '\(path)'")
        #expect(status == 0 && output.isEmpty, "\(output)")
    }
}

import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A real SMTP server for tests: Debian's `aiosmtpd` on a free loopback port, with a certificate
/// made for it (trusted through ``certificate``), STARTTLS or TLS from the first byte, and a login
/// it checks. Each message it takes is parsed by Python's `email` package and kept as a
/// ``Message``, so a test reads back what a mail client would show.
public final class SMTPReceiver: Sendable {
    public enum Security: String, Sendable {
        case none, startTLS = "starttls", tls
    }

    /// A message as received: the envelope, and the parsed headers and bodies.
    public struct Message: Decodable, Sendable {
        public var mailFrom: String
        public var rcptTos: [String]
        /// Who logged in to send it, if anyone did.
        public var authUser: String?
        public var subject: String
        public var from: String
        public var to: String
        public var text: String?
        public var html: String?
        /// Whether the message came over TLS (STARTTLS or from the first byte).
        public var tls: Bool
    }

    public let port: Int
    /// The server's self-signed certificate (PEM): what a tool must trust to talk to it.
    public let certificate: String
    private let pid: pid_t
    private let directory: TemporaryDirectory

    private init(port: Int, certificate: String, pid: pid_t, directory: TemporaryDirectory) {
        self.port = port
        self.certificate = certificate
        self.pid = pid
        self.directory = directory
    }

    /// Starts a server; with a `username`, sending needs that login (and its `password`).
    public static func start(security: Security, username: String? = nil, password: String? = nil) async throws -> SMTPReceiver {
        let directory = try TemporaryDirectory("cronium-smtp")
        let (cert, key) = (directory.appending("cert.pem"), directory.appending("key.pem"))
        let made = waitForExit(
            try spawn(
                [
                    "/usr/bin/openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out",
                    cert,
                    "-days", "2", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
                ],
                output: directory.appending("openssl.log")
            )
        )
        guard made == 0 else { throw Failure("openssl could not make a certificate: \(log(directory, "openssl.log"))") }
        try FileManager.default.createDirectory(atPath: directory.appending("messages"), withIntermediateDirectories: true)
        let script = directory.appending("receiver.py")
        try Self.script.write(toFile: script, atomically: true, encoding: .utf8)
        let pid = try spawn(
            ["/usr/bin/python3", script, security.rawValue, cert, key, username ?? "", password ?? "", directory.appending("messages")],
            output: directory.appending("receiver.log")
        )
        var port: Int?
        _ = try await eventually {
            port = log(directory, "receiver.log").split(separator: "\n").first { $0.hasPrefix("PORT ") }.flatMap { Int($0.dropFirst(5)) }
            return port != nil || kill(pid, 0) != 0
        }
        guard let port else {
            kill(pid, SIGKILL)
            _ = waitForExit(pid)
            throw Failure("aiosmtpd did not start (is python3-aiosmtpd installed? scripts/test.sh installs it): \(log(directory, "receiver.log"))")
        }
        return SMTPReceiver(port: port, certificate: try String(contentsOfFile: cert, encoding: .utf8), pid: pid, directory: directory)
    }

    /// The messages taken so far, in order.
    public func messages() throws -> [Message] {
        let folder = directory.appending("messages")
        return try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".json") }.sorted().map {
            try JSONDecoder().decode(Message.self, from: Data(contentsOf: URL(fileURLWithPath: "\(folder)/\($0)")))
        }
    }

    /// Waits until `count` messages have come (or 15 s have passed) and answers them.
    public func waitForMessages(_ count: Int) async throws -> [Message] {
        _ = try await eventually(timeout: .seconds(15)) { try messages().count >= count }
        return try messages()
    }

    public func stop() {
        kill(pid, SIGKILL)
        _ = waitForExit(pid)
        directory.remove()
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    private static func log(_ directory: TemporaryDirectory, _ name: String) -> String {
        (try? String(contentsOfFile: directory.appending(name), encoding: .utf8)) ?? ""
    }

    /// aiosmtpd on asyncio: prints `PORT n` once listening, then writes each message it takes as
    /// JSON (written to a temporary name and renamed, so a reader never sees half of one).
    static let script = #"""
        import asyncio, email, email.policy, json, os, ssl, sys
        from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

        mode, cert, key, user, password, folder = sys.argv[1:7]
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
        count = 0

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                global count
                message = email.message_from_bytes(envelope.original_content or envelope.content, policy=email.policy.default)
                bodies = {}
                for part in message.walk():
                    kind = part.get_content_type()
                    if kind in ("text/plain", "text/html") and kind not in bodies:
                        # Lines end in CRLF on the wire; a mail client shows them as lines.
                        bodies[kind] = part.get_content().replace("\r\n", "\n")
                count += 1
                record = {
                    "mailFrom": envelope.mail_from, "rcptTos": envelope.rcpt_tos,
                    "authUser": session.login_data.decode() if session.login_data else None,
                    "subject": str(message["subject"]), "from": str(message["from"]), "to": str(message["to"]),
                    "text": bodies.get("text/plain"), "html": bodies.get("text/html"),
                    "tls": mode == "tls" or session.ssl is not None,
                }
                path = os.path.join(folder, "%04d.json" % count)
                with open(path + ".part", "w") as out:
                    json.dump(record, out)
                os.rename(path + ".part", path)
                return "250 2.0.0 OK queued as %d" % count

        def authenticate(server, session, envelope, mechanism, data):
            good = isinstance(data, LoginPassword) and data.login.decode() == user and data.password.decode() == password
            return AuthResult(success=good, handled=False, auth_data=data if good else None)

        def protocol():
            options = {"hostname": "cronium-test-smtp"}
            if user:
                options.update(authenticator=authenticate, auth_required=True, auth_require_tls=(mode != "tls"))
            if mode == "starttls":
                options.update(tls_context=context, require_starttls=True)
            return SMTP(Handler(), **options)

        loop = asyncio.new_event_loop()
        server = loop.run_until_complete(loop.create_server(protocol, "127.0.0.1", 0, ssl=context if mode == "tls" else None))
        print("PORT", server.sockets[0].getsockname()[1], flush=True)
        loop.run_forever()
        """#
}

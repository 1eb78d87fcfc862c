import CroniumCore
import CroniumTesting
import Foundation
import Testing

@testable import CroniumExecutors

#if canImport(Glibc)
    import Glibc
#endif

/// Email tools against a real SMTP server (aiosmtpd): each kind of security and login, what goes
/// in the message, and the errors a person sees when something is wrong.
@Suite struct SMTPTests {
    static func tool(_ receiver: SMTPReceiver, security: SMTPSecurity, login: SMTPAuthentication? = .plain, trusting: Bool = true) -> Tool {
        let now = Date()
        let email = EmailSettings(
            host: "127.0.0.1",
            port: receiver.port,
            security: security,
            authentication: login,
            username: login == nil ? nil : "mailer",
            from: "Cronium Alerts <alerts@example.com>",
            trustedCertificate: trusting ? receiver.certificate : nil
        )
        return Tool(id: 1, name: "mail", type: .email, shared: false, email: email, createdAt: now, updatedAt: now)
    }

    static let quick: ToolDelivery = {
        var policy = ToolDelivery.Policy()
        (policy.attempts, policy.backoff, policy.timeout) = (2, .milliseconds(50), .seconds(5))
        return ToolDelivery(policy: policy)
    }()

    @Test func startTLSWithEachLoginCarriesTextAndHTML() async throws {
        let receiver = try await SMTPReceiver.start(security: .startTLS, username: "mailer", password: "s3cret pass")
        defer { receiver.stop() }
        for login in [SMTPAuthentication.plain, .login] {
            let message = ToolMessage(
                subject: "Backup ✓ done on db-1 — \(login.rawValue)",
                text: "All good.\n.\nA line with a lone dot above; ünïcødé too.",
                to: ["ops@example.com", "Zweite Pérson <second@example.com>"],
                html: "<p>All <b>good</b></p>"
            )
            let result = await Self.quick.deliver(
                message,
                with: Self.tool(receiver, security: .startTLS, login: login),
                credential: .init(password: "s3cret pass")
            )
            #expect(result.delivered && result.attempts == 1 && result.status == 250, "\(result)")
            #expect(result.response?.hasPrefix("2.0.0 OK queued as") == true)
        }
        let messages = try receiver.messages()
        try #require(messages.count == 2)
        for (message, login) in zip(messages, ["PLAIN", "LOGIN"]) {
            #expect(message.tls && message.authUser == "mailer" && message.mailFrom == "alerts@example.com")
            #expect(message.rcptTos == ["ops@example.com", "second@example.com"])
            #expect(message.subject == "Backup ✓ done on db-1 — \(login)" && message.from == "Cronium Alerts <alerts@example.com>")
            #expect(message.to == "ops@example.com, Zweite Pérson <second@example.com>")
            #expect(
                message.text == "All good.\n.\nA line with a lone dot above; ünïcødé too.\n"
                    || message.text == "All good.\n.\nA line with a lone dot above; ünïcødé too."
            )
            #expect(message.html?.hasPrefix("<p>All <b>good</b></p>") == true)
        }
    }

    @Test func implicitTLSAndPlainText() async throws {
        let tls = try await SMTPReceiver.start(security: .tls, username: "mailer", password: "pw")
        defer { tls.stop() }
        // Quoted-printable: a long line broken softly, a trailing space, '=' and tabs come back as they were.
        let text = String(repeating: "ünïcødé wörds ", count: 12) + "\n= 100%\tdone \n\n.."
        let subject = "A long subject " + String(repeating: "über ", count: 20)
        let sent = await Self.quick.deliver(
            ToolMessage(subject: subject, text: text, to: ["a@example.com"]),
            with: Self.tool(tls, security: .tls, login: .login),
            credential: .init(password: "pw")
        )
        #expect(sent.delivered, "\(sent)")
        let received = try tls.messages()
        #expect(received.count == 1 && received.first?.tls == true && received.first?.authUser == "mailer" && received.first?.html == nil)
        #expect(received.first?.text == text || received.first?.text == text + "\n", "\(String(describing: received.first?.text))")
        #expect(received.first?.subject == subject.trimmingCharacters(in: .whitespaces) || received.first?.subject == subject)

        let plain = try await SMTPReceiver.start(security: .none)
        defer { plain.stop() }
        let relayed = await Self.quick.deliver(
            ToolMessage(subject: "relay", text: "plain", to: ["a@example.com"]),
            with: Self.tool(plain, security: .none, login: nil),
            credential: .init()
        )
        #expect(relayed.delivered, "\(relayed)")
        #expect(try plain.messages().first?.text?.hasPrefix("plain") == true)
    }

    /// Each mistake is final (not tried again), says what to change, and shows no password.
    @Test func mistakesAreClearAndNotRetried() async throws {
        let receiver = try await SMTPReceiver.start(security: .startTLS, username: "mailer", password: "right")
        defer { receiver.stop() }
        let message = ToolMessage(subject: "s", text: "t", to: ["ops@example.com"])

        let wrong = await Self.quick.deliver(message, with: Self.tool(receiver, security: .startTLS), credential: .init(password: "wrong-password"))
        #expect(!wrong.delivered && wrong.attempts == 1 && wrong.status == 535, "\(wrong)")
        #expect(
            wrong.error?.contains("535 5.7.8 Authentication credentials invalid") == true
                && wrong.error?.contains("check the tool's username and password") == true
        )
        #expect(wrong.error?.contains("wrong-password") == false)

        let untrusted = await Self.quick.deliver(
            message,
            with: Self.tool(receiver, security: .startTLS, trusting: false),
            credential: .init(password: "right")
        )
        #expect(!untrusted.delivered && untrusted.attempts == 1, "\(untrusted)")
        #expect(
            untrusted.error
                == "TLS with 127.0.0.1:\(receiver.port) failed: its certificate is not trusted (a server with a certificate of a private CA needs that CA as the tool's trustedCertificate)"
        )

        let noLogin = await Self.quick.deliver(message, with: Self.tool(receiver, security: .startTLS, login: nil), credential: .init())
        #expect(!noLogin.delivered && noLogin.attempts == 1 && noLogin.status == 530, "\(noLogin)")

        // Plain text to a server that insists on STARTTLS: it refuses, and says so.
        let downgraded = await Self.quick.deliver(message, with: Self.tool(receiver, security: .none, login: nil), credential: .init())
        #expect(!downgraded.delivered && downgraded.error?.contains("refused MAIL") == true, "\(downgraded)")

        // Implicit TLS against a plain-text greeting.
        let mismatched = await Self.quick.deliver(message, with: Self.tool(receiver, security: .tls), credential: .init(password: "right"))
        #expect(!mismatched.delivered && mismatched.attempts == 1, "\(mismatched)")
        #expect(
            mismatched.error?.hasSuffix("it does not answer in TLS (a server that starts in plain text needs security STARTTLS, usually on port 587)")
                == true
        )
        #expect(try receiver.messages().isEmpty)
    }

    /// Nobody listening: tried again, then a clear error with where it tried.
    @Test func unreachableServerIsTriedAgain() async throws {
        let now = Date()
        let email = EmailSettings(host: "127.0.0.1", port: 1, security: .none, authentication: nil, username: nil, from: "a@example.com")
        let tool = Tool(id: 1, name: "mail", type: .email, shared: false, email: email, createdAt: now, updatedAt: now)
        let result = await Self.quick.deliver(ToolMessage(subject: "s", text: "t", to: ["b@example.com"]), with: tool, credential: .init())
        #expect(!result.delivered && result.attempts == 2 && result.status == nil, "\(result)")
        #expect(result.error?.hasPrefix("could not talk to 127.0.0.1:1") == true && result.error?.hasSuffix("(after 2 tries)") == true)

        // A server that takes the connection and never greets (an HTTP server waits for a request).
        let silent = try await LocalHTTPServer.start { _ in (200, "") }
        defer { silent.stop() }
        var policy = ToolDelivery.Policy()
        (policy.attempts, policy.timeout) = (1, .seconds(1))
        var mute = tool
        mute.email?.port = silent.port
        let started = ContinuousClock.now
        let hung = await ToolDelivery(policy: policy).deliver(
            ToolMessage(subject: "s", text: "t", to: ["b@example.com"]),
            with: mute,
            credential: .init()
        )
        #expect(!hung.delivered && hung.error == "127.0.0.1:\(silent.port) did not finish the conversation in 1 s (after 1 try)", "\(hung)")
        #expect(ContinuousClock.now - started < .seconds(3))
    }

    /// Plain text slipped in after the server's yes to STARTTLS (in the same packet, as an attacker
    /// in the middle would) is refused, never read as if it had come over TLS.
    @Test func textInjectedBeforeTheTLSSwitchIsRefused() async throws {
        let directory = try TemporaryDirectory("smtp-inject")
        defer { directory.remove() }
        let script = directory.appending("server.py")
        try #"""
        import socket
        server = socket.socket(); server.bind(("127.0.0.1", 0)); server.listen(1)
        print("PORT", server.getsockname()[1], flush=True)
        connection, _ = server.accept()
        connection.sendall(b"220 mitm ESMTP\r\n")
        reader = connection.makefile("rb")
        for line in reader:
            if line.upper().startswith(b"EHLO"):
                connection.sendall(b"250-mitm\r\n250-STARTTLS\r\n250 AUTH PLAIN\r\n")
            elif line.upper().startswith(b"STARTTLS"):
                connection.sendall(b"220 go ahead\r\n250-mitm\r\n250 AUTH PLAIN\r\n235 welcome\r\n")
            else:
                connection.sendall(b"250 ok\r\n")
        """#.write(toFile: script, atomically: true, encoding: .utf8)
        let pid = try spawn(["/usr/bin/python3", script], output: directory.appending("log"))
        defer {
            kill(pid, SIGKILL)
            _ = waitForExit(pid)
        }
        var port: Int?
        _ = try await eventually {
            port = (try? String(contentsOfFile: directory.appending("log"), encoding: .utf8))?.split(separator: "\n").first { $0.hasPrefix("PORT ") }
                .flatMap { Int($0.dropFirst(5)) }
            return port != nil
        }
        let now = Date()
        let email = EmailSettings(
            host: "127.0.0.1",
            port: try #require(port),
            security: .startTLS,
            authentication: .plain,
            username: "u",
            from: "a@example.com"
        )
        let tool = Tool(id: 1, name: "mail", type: .email, shared: false, email: email, createdAt: now, updatedAt: now)
        let result = await Self.quick.deliver(
            ToolMessage(subject: "s", text: "t", to: ["b@example.com"]),
            with: tool,
            credential: .init(password: "never-sent")
        )
        #expect(!result.delivered && result.attempts == 1, "\(result)")
        #expect(result.error?.hasSuffix("the SMTP server sent more after agreeing to STARTTLS: not a server to log in to") == true, "\(result)")
    }

    /// Headers stay valid whatever the names and subjects hold.
    @Test func headersAreQuotedEncodedAndFolded() {
        #expect(MailMessage.header("Smith, John <john@example.com>") == #""Smith, John" <john@example.com>"#)
        #expect(MailMessage.header(#""Already Quoted, Fine" <a@example.com>"#) == #""Already Quoted, Fine" <a@example.com>"#)
        #expect(MailMessage.header("Ops <ops@example.com>") == "Ops <ops@example.com>")
        #expect(MailMessage.header("Zoë <zoe@example.com>") == "=?UTF-8?B?Wm/Dqw==?= <zoe@example.com>")
        // One character of many scalars (a family emoji) never makes an empty or oversized word.
        let words = MailMessage.encodedWords(String(repeating: "👨‍👩‍👧‍👦", count: 5)).components(separatedBy: "\r\n ")
        #expect(words.allSatisfy { $0.count <= 75 && $0 != "=?UTF-8?B??=" }, "\(words)")
        let long = String(repeating: "disk almost full on db-1 ", count: 60)
        let rendered = MailMessage(from: "a@example.com", to: (1...50).map { "user\($0)@example.com" }, subject: long, text: "t").rendered()
        let lines = rendered.components(separatedBy: "\r\n")
        #expect(lines.allSatisfy { $0.count <= 78 }, "\(lines.filter { $0.count > 78 })")
        #expect(ToolRules.address(in: "zoë@example.com") == nil && ToolRules.address(in: "a\u{0}b@example.com") == nil)
    }
}

import CroniumCore
import Foundation
import NIOCore
import NIOPosix
import NIOSSL

/// Sends one email over SMTP (RFC 5321): plain, upgraded with STARTTLS (RFC 3207) or TLS from
/// the first byte, logging in with AUTH PLAIN or LOGIN (RFC 4954) when the tool has a username.
/// Certificates are checked against the system's roots and the tool's own trusted certificate.
/// Every failure says where the conversation stopped and what the server said, never a credential.
struct SMTPClient: Sendable {
    let settings: EmailSettings
    let password: String?
    let timeout: Duration

    /// Why a message was not sent; `transient` when trying again later may work (a 4xx answer, a
    /// lost connection), not when the server refused for good or the set-up is wrong.
    struct Failure: Error, CustomStringConvertible {
        var description: String
        var reply: SMTPReply?
        var transient: Bool
    }

    /// Sends `message` and answers the server's acceptance of it (`250 … queued as …`).
    func send(_ message: MailMessage) async throws(Failure) -> SMTPReply {
        let started = ContinuousClock.now
        let target = "\(settings.host):\(settings.port)"
        func nanoseconds(_ duration: Duration) -> Int64 {
            max(1, duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000)
        }
        do {
            let tls = settings.security == .none ? nil : try Self.tlsContext(trusting: settings.trustedCertificate)
            // An address is checked against the certificate's IP entries; only a name goes in SNI.
            let serverName = (try? SocketAddress(ipAddress: settings.host, port: 0)) == nil ? settings.host : nil
            let implicitTLS = settings.security == .tls ? tls : nil
            let startTLS = settings.security == .startTLS ? tls.map { StartTLS(context: $0, serverName: serverName) } : nil
            let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(.nanoseconds(nanoseconds(timeout)))
                .connect(host: settings.host, port: settings.port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        if let implicitTLS {
                            try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: implicitTLS, serverHostname: serverName))
                        }
                        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(SMTPReplyDecoder(startTLS: startTLS)))
                        return try NIOAsyncChannel<SMTPReply, ByteBuffer>(wrappingChannelSynchronously: channel)
                    }
                }
            // One deadline for all of it, the connection included: a server that stops answering
            // is hung up on.
            let left = timeout - (ContinuousClock.now - started)
            let deadline = channel.channel.eventLoop.scheduleTask(in: .nanoseconds(nanoseconds(left))) { channel.channel.close(promise: nil) }
            defer { deadline.cancel() }
            let name = Self.helloName(local: channel.channel.localAddress)
            let data = message.rendered()
            return try await channel.executeThenClose { inbound, outbound in
                var session = Session(replies: inbound.makeAsyncIterator(), outbound: outbound, name: name)
                _ = try await session.expect([220], after: "connecting")
                var extensions = try await session.hello()
                if let startTLS {
                    guard extensions["STARTTLS"] != nil else {
                        throw Failure(
                            description:
                                "\(target) does not offer STARTTLS; choose security TLS (port 465) or, for a relay on a trusted network, NONE",
                            transient: false
                        )
                    }
                    // The decoder puts TLS in place with the 220 (see SMTPReplyDecoder); everything known before is forgotten.
                    startTLS.arm()
                    _ = try await session.command("STARTTLS", expect: [220])
                    extensions = try await session.hello()
                }
                if let mechanism = settings.authentication {
                    try await session.logIn(mechanism, username: settings.username ?? "", password: password ?? "", offered: extensions["AUTH"])
                }
                if let limit = extensions["SIZE"]?.first.flatMap(Int.init), limit > 0, data.utf8.count > limit {
                    throw Failure(description: "the message is \(data.utf8.count) bytes and \(target) takes at most \(limit)", transient: false)
                }
                _ = try await session.command("MAIL FROM:<\(ToolRules.address(in: settings.from) ?? settings.from)>", expect: [250])
                for recipient in message.to {
                    _ = try await session.command(
                        "RCPT TO:<\(ToolRules.address(in: recipient) ?? recipient)>",
                        expect: [250, 251],
                        what: "recipient \(recipient)"
                    )
                }
                _ = try await session.command("DATA", expect: [354])
                // A line that starts with a dot gets another (RFC 5321 §4.5.2), and a lone dot ends it.
                let accepted = try await session.send(
                    data.replacingOccurrences(of: "\r\n.", with: "\r\n..") + ".\r\n",
                    expect: [250],
                    what: "the message"
                )
                // Taken: say goodbye without waiting for the answer.
                try? await session.write("QUIT\r\n")
                return accepted
            }
        } catch let failure as Failure {
            if failure.transient, ContinuousClock.now - started >= timeout { throw Self.timedOut(target, timeout) }
            throw failure
        } catch let error as NIOSSLError {
            throw Self.tlsFailure(error, target: target)
        } catch let error as BoringSSLError {
            throw Self.tlsFailure(error, target: target)
        } catch let error as NIOSSLExtraError {
            throw Self.tlsFailure(error, target: target)
        } catch let error as SMTPReplyDecoder.Malformed {
            throw Failure(description: "\(target): \(error)", transient: false)
        } catch {
            if ContinuousClock.now - started >= timeout { throw Self.timedOut(target, timeout) }
            throw Failure(description: "could not talk to \(target): \(ToolDelivery.reason(error))", transient: true)
        }
    }

    /// What this machine calls itself in EHLO: its name when it is a full one (servers may refuse
    /// a short name), else the address it connected from, as an address literal.
    static func helloName(local: SocketAddress?) -> String {
        guard !Session.localName.contains("."), let local, let ip = local.ipAddress else { return Session.localName }
        return local.protocol == .inet6 ? "[IPv6:\(ip)]" : "[\(ip)]"
    }

    static func timedOut(_ target: String, _ timeout: Duration) -> Failure {
        Failure(description: "\(target) did not finish the conversation in \(timeout.components.seconds) s", transient: true)
    }

    /// A failed TLS handshake in words a person can act on; BoringSSL's own at the end. A
    /// connection lost in the middle is tried again; the rest is the set-up's to fix.
    static func tlsFailure(_ error: any Error, target: String) -> Failure {
        let detail = "\(error)"
        if case .uncleanShutdown? = error as? NIOSSLError {
            return Failure(description: "\(target) closed the connection in the middle of TLS", transient: true)
        }
        if detail.contains("EOF during handshake") {
            return Failure(description: "\(target) closed the connection during the TLS handshake", transient: true)
        }
        let reason: String
        if detail.contains("WRONG_VERSION_NUMBER") {
            reason = "it does not answer in TLS (a server that starts in plain text needs security STARTTLS, usually on port 587)"
        } else if detail.contains("CERTIFICATE_VERIFY_FAILED") {
            reason = "its certificate is not trusted (a server with a certificate of a private CA needs that CA as the tool's trustedCertificate)"
        } else if detail.lowercased().contains("hostname") {
            reason = "its certificate is not for \(target.split(separator: ":").first ?? "") (give the host name the certificate names)"
        } else {
            reason = detail
        }
        return Failure(description: "TLS with \(target) failed: \(reason)", transient: false)
    }

    static func tlsContext(trusting pem: String?) throws -> NIOSSLContext {
        var configuration = TLSConfiguration.makeClientConfiguration()
        // The conversation has ended when the channel closes: no waiting for the server's close_notify.
        configuration.shutdownTimeout = .milliseconds(100)
        if let pem { configuration.additionalTrustRoots = [.certificates(try NIOSSLCertificate.fromPEMBytes(Array(pem.utf8)))] }
        return try NIOSSLContext(configuration: configuration)
    }

    /// Why `pem` cannot be trusted for TLS, if it cannot.
    static func certificateProblem(_ pem: String) -> String? {
        guard let certificates = try? NIOSSLCertificate.fromPEMBytes(Array(pem.utf8)), !certificates.isEmpty else {
            return "is not a PEM certificate (-----BEGIN CERTIFICATE----- …)"
        }
        return nil
    }

    /// One conversation: commands out, replies in, in turn.
    struct Session {
        var replies: NIOAsyncChannelInboundStream<SMTPReply>.AsyncIterator
        let outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>
        /// What it calls itself in EHLO.
        let name: String

        /// The next reply, which must be one of `codes`.
        mutating func expect(_ codes: Set<Int>, after what: String) async throws -> SMTPReply {
            guard let reply = try await replies.next() else {
                throw Failure(description: "the SMTP server hung up after \(what)", transient: true)
            }
            guard codes.contains(reply.code) else {
                throw Failure(description: "the SMTP server refused \(what): \(reply.text)", reply: reply, transient: reply.isTransient)
            }
            return reply
        }

        mutating func command(_ line: String, expect codes: Set<Int>, what: String? = nil) async throws -> SMTPReply {
            try await send(line + "\r\n", expect: codes, what: what ?? String(line.prefix(while: { $0 != " " && $0 != ":" })))
        }

        mutating func send(_ text: String, expect codes: Set<Int>, what: String) async throws -> SMTPReply {
            try await write(text)
            return try await expect(codes, after: what)
        }

        /// Writes `text`; when the connection has broken, throws why it broke (a TLS handshake's
        /// failure comes in on the inbound side), not just that it is closed.
        mutating func write(_ text: String) async throws {
            do {
                try await outbound.write(ByteBuffer(string: text))
            } catch {
                _ = try await replies.next()
                throw error
            }
        }

        /// EHLO, or HELO for a server that knows no extensions; the extensions it offers, by keyword.
        mutating func hello() async throws -> [String: [String]] {
            try await write("EHLO \(name)\r\n")
            guard let reply = try await replies.next() else { throw Failure(description: "the SMTP server hung up after EHLO", transient: true) }
            guard reply.code == 250 else {
                guard [500, 502].contains(reply.code) else {
                    throw Failure(description: "the SMTP server refused EHLO: \(reply.text)", reply: reply, transient: reply.isTransient)
                }
                _ = try await command("HELO \(name)", expect: [250])
                return [:]
            }
            var extensions: [String: [String]] = [:]
            for line in reply.lines.dropFirst() {
                let words = line.split(separator: " ").map(String.init)
                if let keyword = words.first { extensions[keyword.uppercased()] = words.dropFirst().map { $0.uppercased() } }
            }
            return extensions
        }

        /// AUTH PLAIN or LOGIN. What is sent is never part of an error; what the server said is.
        mutating func logIn(_ mechanism: SMTPAuthentication, username: String, password: String, offered: [String]?) async throws {
            guard let offered, offered.contains(mechanism.rawValue) else {
                let others = offered.map { "it offers \($0.joined(separator: ", "))" } ?? "it offers no login at this point"
                throw Failure(description: "the SMTP server does not offer AUTH \(mechanism.rawValue) (\(others))", transient: false)
            }
            func base64(_ text: String) -> String { Data(text.utf8).base64EncodedString() }
            do {
                switch mechanism {
                case .plain:
                    _ = try await send("AUTH PLAIN \(base64("\0\(username)\0\(password)"))\r\n", expect: [235], what: "the username or password")
                case .login:
                    _ = try await command("AUTH LOGIN", expect: [334])
                    _ = try await send(base64(username) + "\r\n", expect: [334], what: "the username")
                    _ = try await send(base64(password) + "\r\n", expect: [235], what: "the username or password")
                }
            } catch var failure as Failure where failure.reply?.code == 535 {
                failure.description += " (check the tool's username and password)"
                throw failure
            }
        }

        /// This machine's name.
        static let localName: String = {
            var buffer = [CChar](repeating: 0, count: 256)
            guard gethostname(&buffer, buffer.count) == 0 else { return "localhost" }
            let name = String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
            return name.isEmpty || name.contains(where: { $0.isWhitespace }) ? "localhost" : name
        }()
    }
}

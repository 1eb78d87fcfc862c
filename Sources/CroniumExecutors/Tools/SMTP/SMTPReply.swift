import Foundation
import NIOCore
import NIOSSL
import Synchronization

/// One answer of an SMTP server (RFC 5321 §4.2): a three-digit code and one or more lines of
/// text (`250-first`, `250-second`, `250 last`).
struct SMTPReply: Sendable, Equatable {
    var code: Int
    var lines: [String]

    /// 4xx: try again later; 5xx is final.
    var isTransient: Bool { (400..<500).contains(code) }
    /// The reply as one line, for errors and the delivery's record.
    var text: String { "\(code) \(message)" }
    /// What the server said, without the code.
    var message: String { lines.joined(separator: " ").trimmingCharacters(in: .whitespaces) }
}

/// Splits the server's bytes into replies. A line longer than ``maxLine`` or a reply of more than
/// ``maxLines`` lines is an error: a server that sends that is not one to talk to.
///
/// It also makes the STARTTLS switch (RFC 3207): when ``StartTLS`` is armed, the reply to the
/// command that decodes as 220 puts TLS in front of it on the event loop, before another byte is
/// read; bytes that came in plain text after that reply are refused, never read as if they had
/// come over TLS (an attacker in the middle could otherwise answer for the server).
struct SMTPReplyDecoder: ByteToMessageDecoder {
    typealias InboundOut = SMTPReply
    static let maxLine = 4096
    static let maxLines = 100
    let startTLS: StartTLS?
    private var pending: [String] = []
    private var pendingCode: Int?

    init(startTLS: StartTLS? = nil) {
        self.startTLS = startTLS
    }

    struct Malformed: Error, CustomStringConvertible {
        var description: String
    }

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let newline = buffer.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) else {
            if buffer.readableBytes > Self.maxLine { throw Malformed(description: "the SMTP server sent a line of over \(Self.maxLine) bytes") }
            return .needMoreData
        }
        let length = newline - buffer.readerIndex
        var line = buffer.readString(length: length) ?? ""
        buffer.moveReaderIndex(forwardBy: 1)
        if line.hasSuffix("\r") { line.removeLast() }
        let bytes = Array(line.utf8)
        guard bytes.count >= 3, let code = Int(String(decoding: bytes[0..<3], as: UTF8.self)), (200...599).contains(code),
            bytes.count == 3 || bytes[3] == UInt8(ascii: " ") || bytes[3] == UInt8(ascii: "-"), pendingCode == nil || pendingCode == code
        else { throw Malformed(description: "the server did not answer in SMTP: \(line.prefix(80))") }
        pending.append(bytes.count > 4 ? String(decoding: bytes[4...], as: UTF8.self) : "")
        if bytes.count > 3 && bytes[3] == UInt8(ascii: "-") {
            guard pending.count < Self.maxLines else { throw Malformed(description: "the SMTP server sent a reply of over \(Self.maxLines) lines") }
            pendingCode = code
            return .continue
        }
        let reply = SMTPReply(code: code, lines: pending)
        (pending, pendingCode) = ([], nil)
        if let startTLS, let upgrade = startTLS.take(), reply.code == 220 {
            guard buffer.readableBytes == 0 else {
                throw Malformed(description: "the SMTP server sent more after agreeing to STARTTLS: not a server to log in to")
            }
            try context.pipeline.syncOperations.addHandler(
                try NIOSSLClientHandler(context: upgrade.context, serverHostname: upgrade.serverName),
                position: .first
            )
            // The TLS handler now first in line swallows this read's end (it delivered no
            // plaintext), and the async channel hands replies over at a read's end: end it here.
            context.fireChannelRead(wrapInboundOut(reply))
            context.fireChannelReadComplete()
            return .continue
        }
        context.fireChannelRead(wrapInboundOut(reply))
        return .continue
    }

    mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        // The conversation is over: complete replies still go up, a torn one is dropped.
        while buffer.readableBytes > 0, (try? decode(context: context, buffer: &buffer)) == .continue {}
        return .needMoreData
    }
}

/// The TLS that STARTTLS switches to, armed by the conversation just before it sends the command
/// and taken by the decoder with the reply to it.
final class StartTLS: Sendable {
    struct Upgrade: Sendable {
        let context: NIOSSLContext
        let serverName: String?
    }

    private let upgrade: Upgrade
    private let armed = Mutex(false)

    init(context: NIOSSLContext, serverName: String?) {
        upgrade = Upgrade(context: context, serverName: serverName)
    }

    func arm() { armed.withLock { $0 = true } }

    /// The upgrade, once, when armed.
    func take() -> Upgrade? {
        armed.withLock { armed in
            defer { armed = false }
            return armed ? upgrade : nil
        }
    }
}

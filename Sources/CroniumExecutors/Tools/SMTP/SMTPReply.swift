import Foundation
import NIOCore

/// One answer of an SMTP server (RFC 5321 §4.2): a three-digit code and one or more lines of
/// text (`250-first`, `250-second`, `250 last`).
struct SMTPReply: Sendable, Equatable {
    var code: Int
    var lines: [String]

    /// 2xx and 3xx: go on.
    var isPositive: Bool { code < 400 }
    /// 4xx: try again later; 5xx is final.
    var isTransient: Bool { (400..<500).contains(code) }
    /// The reply as one line, for errors and the delivery's record.
    var text: String { "\(code) \(message)" }
    /// What the server said, without the code.
    var message: String { lines.joined(separator: " ").trimmingCharacters(in: .whitespaces) }
}

/// Splits the server's bytes into replies. A line longer than ``maxLine`` or a reply of more than
/// ``maxLines`` lines is an error: a server that sends that is not one to talk to.
struct SMTPReplyDecoder: ByteToMessageDecoder {
    typealias InboundOut = SMTPReply
    static let maxLine = 4096
    static let maxLines = 100
    private var pending: [String] = []

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
            bytes.count == 3 || bytes[3] == UInt8(ascii: " ") || bytes[3] == UInt8(ascii: "-")
        else { throw Malformed(description: "the server did not answer in SMTP: \(line.prefix(80))") }
        pending.append(bytes.count > 4 ? String(decoding: bytes[4...], as: UTF8.self) : "")
        if bytes.count > 3 && bytes[3] == UInt8(ascii: "-") {
            guard pending.count < Self.maxLines else { throw Malformed(description: "the SMTP server sent a reply of over \(Self.maxLines) lines") }
            return .continue
        }
        context.fireChannelRead(wrapInboundOut(SMTPReply(code: code, lines: pending)))
        pending = []
        return .continue
    }

    mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        while try decode(context: context, buffer: &buffer) == .continue, buffer.readableBytes > 0 {}
        return .needMoreData
    }
}

import CroniumCore
import Foundation

/// An email as it goes over SMTP's `DATA` (RFC 5322 with MIME): UTF-8 text, and an HTML
/// alternative when there is one, each part quoted-printable so that any text survives any
/// server (7-bit clean, short lines) and stays readable in the raw message.
struct MailMessage: Sendable {
    var from: String
    var to: [String]
    var subject: String
    var text: String
    var html: String?
    var date = Date()
    /// The same on every try of one delivery: a mail client can tell a message sent twice.
    let id = UUID().uuidString.lowercased()
    /// The domain of the Message-ID: the sender's.
    var messageDomain: String { ToolRules.address(in: from)?.split(separator: "@").last.map(String.init) ?? "cronium.invalid" }

    /// The message with CRLF line ends, ready for `DATA` (dot-stuffing is the sender's job).
    func rendered() -> String {
        var headers = [
            "From: \(Self.header(from))",
            // One address a line: fifty of them stay well under the 998 characters a line may have.
            "To: \(to.map { Self.header($0) }.joined(separator: ",\r\n "))",
            "Subject: \(Self.header(subject, folded: true))",
            "Date: \(Self.rfc5322Date(date))",
            "Message-ID: <\(id)@\(messageDomain)>",
            "MIME-Version: 1.0",
            "X-Mailer: Cronium",
        ]
        var body: [String] = []
        if let html {
            let boundary = "cronium-\(id)"
            headers.append("Content-Type: multipart/alternative; boundary=\"\(boundary)\"")
            for (type, content) in [("text/plain", text), ("text/html", html)] {
                body +=
                    ["--\(boundary)", "Content-Type: \(type); charset=utf-8", "Content-Transfer-Encoding: quoted-printable", ""]
                    + Self.quotedPrintable(content)
            }
            body.append("--\(boundary)--")
        } else {
            headers += ["Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: quoted-printable"]
            body = Self.quotedPrintable(text)
        }
        return (headers + [""] + body).joined(separator: "\r\n") + "\r\n"
    }

    /// A header's text on one line; RFC 2047 encoded words when it is not plain ASCII (or, with
    /// `folded`, longer than a line should be). An address's display name is encoded, or quoted
    /// when it holds a comma or the like, never the address itself.
    static func header(_ value: String, folded: Bool = false) -> String {
        let line = value.replacingOccurrences(of: "\r\n", with: " ").replacingOccurrences(of: "\n", with: " ").replacingOccurrences(
            of: "\r",
            with: " "
        )
        let plain = line.unicodeScalars.allSatisfy { $0.isASCII && $0.value >= 0x20 && $0.value != 0x7F }
        if let open = line.lastIndex(of: "<"), line.hasSuffix(">"), !folded {
            let name = line[..<open].trimmingCharacters(in: .whitespaces)
            let address = line[open...]
            if name.isEmpty { return String(address) }
            if !name.unicodeScalars.allSatisfy({ $0.isASCII && $0.value >= 0x20 && $0.value != 0x7F }) { return "\(encodedWords(name)) \(address)" }
            if name.contains(where: { "()<>[]:;@\\,.\"".contains($0) }), !(name.hasPrefix("\"") && name.hasSuffix("\"") && name.count > 1) {
                return "\"\(name.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\""))\" \(address)"
            }
            return "\(name) \(address)"
        }
        return plain && (!folded || line.count <= 68) ? line : encodedWords(line)
    }

    /// `=?UTF-8?B?…?=` words that keep a header line under 76 characters, split between Unicode
    /// scalars (a character of many scalars may span two words; a scalar never does).
    static func encodedWords(_ text: String) -> String {
        var words: [String] = []
        var chunk = ""
        for scalar in text.unicodeScalars {
            // 39 bytes of UTF-8 make 52 of base64: with the 12 around them and "Subject: ", under 76.
            if chunk.utf8.count + String(scalar).utf8.count > 39 {
                words.append(chunk)
                chunk = ""
            }
            chunk.unicodeScalars.append(scalar)
        }
        if !chunk.isEmpty { words.append(chunk) }
        return words.map { "=?UTF-8?B?\(Data($0.utf8).base64EncodedString())?=" }.joined(separator: "\r\n ")
    }

    /// `text` quoted-printable (RFC 2045 §6.7), as lines: printable ASCII as it is, other bytes
    /// as `=XX`, a space or tab that ends a line encoded, lines over 76 characters broken with a
    /// soft `=`. Text's own line ends (LF or CRLF) stay line ends.
    static func quotedPrintable(_ text: String) -> [String] {
        text.replacingOccurrences(of: "\r\n", with: "\n").split(separator: "\n", omittingEmptySubsequences: false).flatMap { line -> [String] in
            let bytes = Array(line.utf8)
            var lines: [String] = []
            var current = ""
            for (index, byte) in bytes.enumerated() {
                let last = index == bytes.count - 1
                let plain = (33...126).contains(byte) && byte != UInt8(ascii: "=") || (byte == 32 || byte == 9) && !last
                let piece = plain ? String(UnicodeScalar(byte)) : String(format: "=%02X", byte)
                // 75 and the soft break's `=`: no line over 76.
                if current.count + piece.count > 75 {
                    lines.append(current + "=")
                    current = ""
                }
                current += piece
            }
            lines.append(current)
            return lines
        }
    }

    static func rfc5322Date(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss Z"
        return formatter.string(from: date)
    }
}

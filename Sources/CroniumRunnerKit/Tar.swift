/// The tar archives of payloads: ustar, regular files and directories only. Reading refuses
/// every entry that could land outside its directory: absolute names, `..`, links, devices.
public enum Tar {
    public struct Entry: Sendable, Equatable {
        public var path: String
        public var mode: Int
        public var contents: [UInt8]
        public var isDirectory: Bool

        public init(path: String, mode: Int = 0o644, contents: [UInt8] = [], isDirectory: Bool = false) {
            self.path = path
            self.mode = mode
            self.contents = contents
            self.isDirectory = isDirectory
        }
    }

    public struct Refusal: Error, Sendable, Equatable, CustomStringConvertible {
        public let description: String
        public init(_ description: String) { self.description = description }
    }

    public static func archive(_ entries: [Entry]) throws(Refusal) -> [UInt8] {
        var out: [UInt8] = []
        for entry in entries {
            guard entry.path.utf8.count <= 100 else { throw Refusal("\(entry.path): a name of more than 100 bytes") }
            var header = [UInt8](repeating: 0, count: 512)
            func put(_ text: String, at offset: Int, width: Int) {
                for (index, byte) in text.utf8.prefix(width).enumerated() { header[offset + index] = byte }
            }
            func octal(_ value: Int, width: Int) -> String {
                let digits = String(value, radix: 8)
                return String(repeating: "0", count: max(0, width - 1 - digits.count)) + digits
            }
            put(entry.path, at: 0, width: 100)
            put(octal(entry.mode, width: 8), at: 100, width: 8)
            put(octal(0, width: 8), at: 108, width: 8)
            put(octal(0, width: 8), at: 116, width: 8)
            put(octal(entry.isDirectory ? 0 : entry.contents.count, width: 12), at: 124, width: 12)
            put(octal(0, width: 12), at: 136, width: 12)
            header[156] = entry.isDirectory ? UInt8(ascii: "5") : UInt8(ascii: "0")
            put("ustar", at: 257, width: 6)
            put("00", at: 263, width: 2)
            for i in 148..<156 { header[i] = UInt8(ascii: " ") }
            put(octal(header.reduce(0) { $0 + Int($1) }, width: 7), at: 148, width: 7)
            out += header
            if !entry.isDirectory {
                out += entry.contents
                out += [UInt8](repeating: 0, count: (512 - entry.contents.count % 512) % 512)
            }
        }
        return out + [UInt8](repeating: 0, count: 1024)
    }

    public static func entries(_ archive: [UInt8]) throws(Refusal) -> [Entry] {
        var entries: [Entry] = []
        var offset = 0
        while offset + 512 <= archive.count {
            let header = archive[offset..<offset + 512]
            if header.allSatisfy({ $0 == 0 }) { return entries }
            let stored = octal(header, 148, 8)
            let sum = header.enumerated().reduce(0) { $0 + (148..<156 ~= $1.offset ? 32 : Int($1.element)) }
            guard stored == sum else { throw Refusal("the archive is damaged (a header's checksum is wrong)") }
            let name = text(header, 0, 100)
            let prefix = text(header, 345, 155)
            let path = try safePath(prefix.isEmpty ? name : prefix + "/" + name)
            let size = octal(header, 124, 12)
            let type = header[header.startIndex + 156]
            switch type {
            case UInt8(ascii: "0"), 0:
                guard size >= 0, offset + 512 + size <= archive.count else { throw Refusal("\(path): the archive is cut short") }
                entries.append(Entry(path: path, mode: octal(header, 100, 8) & 0o777, contents: Array(archive[offset + 512..<offset + 512 + size])))
                offset += 512 + (size + 511) / 512 * 512
            case UInt8(ascii: "5"):
                entries.append(Entry(path: path, mode: octal(header, 100, 8) & 0o777, isDirectory: true))
                offset += 512
            case UInt8(ascii: "1"), UInt8(ascii: "2"):
                throw Refusal("\(path): links are not allowed in a payload")
            default:
                throw Refusal("\(path): only files and directories are allowed in a payload (type '\(Character(Unicode.Scalar(type)))')")
            }
        }
        throw Refusal("the archive is cut short (no end marker)")
    }

    /// `path` without `./`, or a refusal when it is absolute, empty or climbs out with `..`.
    public static func safePath(_ path: String) throws(Refusal) -> String {
        guard !path.hasPrefix("/") else { throw Refusal("\(path): absolute paths are not allowed in a payload") }
        let parts = path.split(separator: "/", omittingEmptySubsequences: true).filter { $0 != "." }
        guard !parts.contains("..") else { throw Refusal("\(path): '..' is not allowed in a payload") }
        guard !parts.isEmpty else { throw Refusal("an entry without a name") }
        return parts.joined(separator: "/")
    }

    static func text(_ header: ArraySlice<UInt8>, _ offset: Int, _ width: Int) -> String {
        let field = header[header.startIndex + offset..<header.startIndex + offset + width]
        return String(decoding: field.prefix { $0 != 0 }, as: UTF8.self)
    }

    static func octal(_ header: ArraySlice<UInt8>, _ offset: Int, _ width: Int) -> Int {
        Int(text(header, offset, width).trimmingSpacesAndNUL, radix: 8) ?? -1
    }
}

extension String {
    var trimmingSpacesAndNUL: String {
        String(self.drop { $0 == " " }.reversed().drop { $0 == " " || $0 == "\0" }.reversed())
    }
}

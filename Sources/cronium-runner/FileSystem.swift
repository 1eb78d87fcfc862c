#if canImport(Glibc)
    import Glibc
#endif

/// The few file-system calls the runner makes, on the C library alone: Foundation would triple
/// the size of a binary that is copied to every server.
enum FileSystem {
    /// A file's bytes; nil when it cannot be read.
    static func contents(of path: String) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = read(fd, &buffer, buffer.count)
            if count < 0 && errno == EINTR { continue }
            guard count >= 0 else { return nil }
            if count == 0 { return bytes }
            bytes += buffer[0..<count]
        }
    }

    /// Makes `path` and the directories above it that are missing, with `mode`.
    static func makeDirectories(_ path: String, mode: mode_t = 0o700) throws {
        var built = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            built += "/\(component)"
            if mkdir(built, mode) != 0 && errno != EEXIST {
                throw RunnerError("cannot create \(built): \(String(cString: strerror(errno)))")
            }
        }
    }

    /// The names in a directory (without `.` and `..`); nil when it cannot be read.
    static func entries(of path: String) -> [String]? {
        guard let directory = opendir(path) else { return nil }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// Removes `path` and, for a directory, everything in it; links are removed, not followed.
    static func removeTree(_ path: String) {
        var info = stat()
        guard lstat(path, &info) == 0 else { return }
        if info.st_mode & S_IFMT == S_IFDIR {
            // The owner may have taken away its own write or search permission.
            chmod(path, 0o700)
            for name in entries(of: path) ?? [] { removeTree("\(path)/\(name)") }
            rmdir(path)
        } else {
            unlink(path)
        }
    }

    static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    static func environment(_ name: String) -> String? { getenv(name).map { String(cString: $0) } }
}

/// Standard base64 (RFC 4648), whitespace ignored; nil for anything else.
func base64Decoded(_ text: String) -> [UInt8]? {
    let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    var values = [UInt8](repeating: 0xFF, count: 256)
    for (index, byte) in alphabet.enumerated() { values[Int(byte)] = UInt8(index) }
    let symbols = Array(text.utf8.filter { ![0x20, 0x09, 0x0A, 0x0D].contains($0) })
    guard symbols.count % 4 == 0 else { return nil }
    var bytes: [UInt8] = []
    for start in stride(from: 0, to: symbols.count, by: 4) {
        let group = symbols[start..<start + 4]
        let padding = group.reversed().prefix { $0 == UInt8(ascii: "=") }.count
        guard padding <= 2, start + 4 == symbols.count || padding == 0 else { return nil }
        var word: UInt32 = 0
        for symbol in group.dropLast(padding) {
            let value = values[Int(symbol)]
            guard value != 0xFF else { return nil }
            word = word << 6 | UInt32(value)
        }
        word <<= 6 * UInt32(padding)
        bytes += [UInt8(word >> 16 & 0xFF), UInt8(word >> 8 & 0xFF), UInt8(word & 0xFF)].prefix(3 - padding)
    }
    return bytes
}

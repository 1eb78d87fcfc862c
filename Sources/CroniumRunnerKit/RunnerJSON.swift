/// Just enough JSON for `cronium-runner` to read its manifest without Foundation: RFC 8259
/// values, strings with every escape, numbers as Double. Anything else is refused.
indirect enum RunnerJSON: Equatable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([RunnerJSON])
    case object([String: RunnerJSON])

    struct Malformed: Error {}

    static func parse(_ bytes: [UInt8]) throws(Malformed) -> RunnerJSON {
        var reader = Reader(bytes: bytes)
        let value = try reader.value(depth: 0)
        reader.skipWhitespace()
        guard reader.index == bytes.count else { throw Malformed() }
        return value
    }

    var string: String? { if case .string(let value) = self { value } else { nil } }
    var number: Double? { if case .number(let value) = self { value } else { nil } }
    var array: [RunnerJSON]? { if case .array(let value) = self { value } else { nil } }
    var object: [String: RunnerJSON]? { if case .object(let value) = self { value } else { nil } }

    /// An integer that a Double holds exactly.
    var integer: Int64? {
        guard let number, number == number.rounded(), abs(number) < 9_007_199_254_740_992 else { return nil }
        return Int64(number)
    }

    /// An object of strings.
    var strings: [String: String]? {
        guard let object else { return nil }
        var result: [String: String] = [:]
        for (key, value) in object {
            guard let text = value.string else { return nil }
            result[key] = text
        }
        return result
    }

    private struct Reader {
        let bytes: [UInt8]
        var index = 0

        mutating func skipWhitespace() {
            while index < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[index]) { index += 1 }
        }

        mutating func value(depth: Int) throws(Malformed) -> RunnerJSON {
            guard depth < 64 else { throw Malformed() }
            skipWhitespace()
            guard index < bytes.count else { throw Malformed() }
            switch bytes[index] {
            case UInt8(ascii: "{"):
                index += 1
                var object: [String: RunnerJSON] = [:]
                skipWhitespace()
                if take(UInt8(ascii: "}")) { return .object(object) }
                repeat {
                    skipWhitespace()
                    let key = try string()
                    skipWhitespace()
                    guard take(UInt8(ascii: ":")) else { throw Malformed() }
                    object[key] = try value(depth: depth + 1)
                    skipWhitespace()
                } while take(UInt8(ascii: ","))
                guard take(UInt8(ascii: "}")) else { throw Malformed() }
                return .object(object)
            case UInt8(ascii: "["):
                index += 1
                var array: [RunnerJSON] = []
                skipWhitespace()
                if take(UInt8(ascii: "]")) { return .array(array) }
                repeat {
                    array.append(try value(depth: depth + 1))
                    skipWhitespace()
                } while take(UInt8(ascii: ","))
                guard take(UInt8(ascii: "]")) else { throw Malformed() }
                return .array(array)
            case UInt8(ascii: "\""):
                return .string(try string())
            case UInt8(ascii: "t"):
                return try literal("true", .bool(true))
            case UInt8(ascii: "f"):
                return try literal("false", .bool(false))
            case UInt8(ascii: "n"):
                return try literal("null", .null)
            default:
                return .number(try number())
            }
        }

        mutating func take(_ byte: UInt8) -> Bool {
            guard index < bytes.count, bytes[index] == byte else { return false }
            index += 1
            return true
        }

        mutating func literal(_ word: String, _ value: RunnerJSON) throws(Malformed) -> RunnerJSON {
            let expected = Array(word.utf8)
            guard index + expected.count <= bytes.count, Array(bytes[index..<index + expected.count]) == expected else { throw Malformed() }
            index += expected.count
            return value
        }

        mutating func number() throws(Malformed) -> Double {
            let start = index
            while index < bytes.count, "+-0123456789.eE".utf8.contains(bytes[index]) { index += 1 }
            guard index > start, let value = Double(String(decoding: bytes[start..<index], as: UTF8.self)), value.isFinite else { throw Malformed() }
            return value
        }

        mutating func string() throws(Malformed) -> String {
            guard take(UInt8(ascii: "\"")) else { throw Malformed() }
            var scalars = String.UnicodeScalarView()
            var run = index
            func flush(_ end: Int) { scalars.append(contentsOf: String(decoding: bytes[run..<end], as: UTF8.self).unicodeScalars) }
            while index < bytes.count {
                let byte = bytes[index]
                if byte == UInt8(ascii: "\"") {
                    flush(index)
                    index += 1
                    return String(scalars)
                }
                guard byte >= 0x20 else { throw Malformed() }
                guard byte == UInt8(ascii: "\\") else {
                    index += 1
                    continue
                }
                flush(index)
                index += 1
                guard index < bytes.count else { throw Malformed() }
                let escape = bytes[index]
                index += 1
                switch escape {
                case UInt8(ascii: "\""): scalars.append("\"")
                case UInt8(ascii: "\\"): scalars.append("\\")
                case UInt8(ascii: "/"): scalars.append("/")
                case UInt8(ascii: "b"): scalars.append("\u{08}")
                case UInt8(ascii: "f"): scalars.append("\u{0C}")
                case UInt8(ascii: "n"): scalars.append("\n")
                case UInt8(ascii: "r"): scalars.append("\r")
                case UInt8(ascii: "t"): scalars.append("\t")
                case UInt8(ascii: "u"):
                    var code = try hex4()
                    if (0xD800..<0xDC00).contains(code) {
                        // A surrogate pair: the low half must follow.
                        guard take(UInt8(ascii: "\\")), take(UInt8(ascii: "u")) else { throw Malformed() }
                        let low = try hex4()
                        guard (0xDC00..<0xE000).contains(low) else { throw Malformed() }
                        code = 0x10000 + (code - 0xD800) << 10 + (low - 0xDC00)
                    }
                    guard let scalar = Unicode.Scalar(code) else { throw Malformed() }
                    scalars.append(scalar)
                default:
                    throw Malformed()
                }
                run = index
            }
            throw Malformed()
        }

        mutating func hex4() throws(Malformed) -> UInt32 {
            guard index + 4 <= bytes.count, let value = UInt32(String(decoding: bytes[index..<index + 4], as: UTF8.self), radix: 16) else {
                throw Malformed()
            }
            index += 4
            return value
        }
    }
}

extension RunnerManifest {
    /// The manifest in `bytes`; nil when they are not a manifest's JSON.
    public init?(json bytes: [UInt8]) {
        guard let root = try? RunnerJSON.parse(bytes).object,
            let version = root["version"]?.integer,
            let interpreter = root["interpreter"]?.array?.compactMap(\.string), interpreter.count == root["interpreter"]?.array?.count,
            let entrypoint = root["entrypoint"]?.string,
            let environment = root["environment"]?.strings,
            let execution = root["execution"]?.object,
            let id = execution["id"]?.integer, let eventId = execution["eventId"]?.integer,
            let eventName = execution["eventName"]?.string, let attempt = execution["attempt"]?.integer,
            let files = root["files"]?.strings
        else { return nil }
        self.init(
            interpreter: interpreter,
            entrypoint: entrypoint,
            environment: environment,
            execution: .init(id: id, eventId: eventId, eventName: eventName, attempt: Int(attempt)),
            deadline: root["deadline"]?.number,
            silenceLimit: root["silenceLimit"]?.number
        )
        self.version = Int(version)
        self.files = files
    }
}

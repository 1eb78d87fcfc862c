import CZlib

/// gzip through the system's zlib, which every Linux host has.
public enum Gzip {
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public let description: String
    }

    public static func compress(_ bytes: [UInt8]) throws(Failure) -> [UInt8] {
        var stream = z_stream()
        // 15 bits of window, +16: a gzip header and trailer, not zlib's.
        guard
            deflateInit2_(
                &stream,
                Z_DEFAULT_COMPRESSION,
                Z_DEFLATED,
                15 + 16,
                8,
                Z_DEFAULT_STRATEGY,
                zlibVersion(),
                Int32(MemoryLayout<z_stream>.size)
            ) == Z_OK
        else { throw Failure(description: "zlib cannot start compressing") }
        defer { deflateEnd(&stream) }
        var input = bytes
        var output = [UInt8](repeating: 0, count: Int(deflateBound(&stream, UInt(bytes.count))) + 64)
        let status = input.withUnsafeMutableBufferPointer { source in
            output.withUnsafeMutableBufferPointer { target in
                stream.next_in = source.baseAddress
                stream.avail_in = UInt32(source.count)
                stream.next_out = target.baseAddress
                stream.avail_out = UInt32(target.count)
                return deflate(&stream, Z_FINISH)
            }
        }
        guard status == Z_STREAM_END else { throw Failure(description: "zlib could not compress (\(status))") }
        return Array(output.prefix(Int(stream.total_out)))
    }

    /// The bytes `data` holds, refusing more than `limit` of them (a small archive can inflate
    /// to gigabytes).
    public static func decompress(_ data: [UInt8], limit: Int) throws(Failure) -> [UInt8] {
        var stream = z_stream()
        guard inflateInit2_(&stream, 15 + 16, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw Failure(description: "zlib cannot start decompressing")
        }
        defer { inflateEnd(&stream) }
        var input = data
        var result: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 << 10)
        var status: Int32 = Z_OK
        try input.withUnsafeMutableBufferPointer { (source) throws(Failure) in
            stream.next_in = source.baseAddress
            stream.avail_in = UInt32(source.count)
            repeat {
                let produced = chunk.withUnsafeMutableBufferPointer { target in
                    stream.next_out = target.baseAddress
                    stream.avail_out = UInt32(target.count)
                    status = inflate(&stream, Z_NO_FLUSH)
                    return target.count - Int(stream.avail_out)
                }
                guard status == Z_OK || status == Z_STREAM_END else { throw Failure(description: "the archive is not valid gzip (\(status))") }
                result += chunk.prefix(produced)
                guard result.count <= limit else { throw Failure(description: "the archive holds more than \(limit >> 20) MiB") }
                if status == Z_OK && produced == 0 && stream.avail_in == 0 { throw Failure(description: "the archive is cut short") }
            } while status != Z_STREAM_END
        }
        return result
    }
}

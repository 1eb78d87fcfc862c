import CroniumExecutors
import Crypto
import Foundation
import Testing

@testable import CroniumRunnerKit

/// The runner's own SHA-256, SHA-512, Ed25519 verification and JSON reader, held to swift-crypto
/// (BoringSSL) and Foundation on the same inputs: the runner trusts payloads on their word.
@Suite struct RunnerCryptoTests {
    static func random(_ count: Int) -> [UInt8] { (0..<count).map { _ in UInt8.random(in: 0...255) } }

    @Test func digestsAreSwiftCryptosOnEveryLength() {
        for length in Array(0...260) + [65_537] {
            let message = Self.random(length)
            #expect(SHA256Digest.hash(message) == Array(SHA256.hash(data: message)), "SHA-256 of \(length) bytes")
            #expect(SHA512Digest.hash(message) == Array(SHA512.hash(data: message)), "SHA-512 of \(length) bytes")
        }
    }

    /// Values from p up to 2^255 − 1 are read as they come and written reduced.
    @Test func fieldElementsAreWrittenCanonically() {
        func number(_ low: UInt8, top: UInt8 = 0x7F) -> [UInt8] { [low] + [UInt8](repeating: 0xFF, count: 30) + [top] }
        let p = number(0xED)
        #expect(FieldElement(bytes: p).bytes == [UInt8](repeating: 0, count: 32))
        #expect(FieldElement(bytes: number(0xEE)).bytes == [1] + [UInt8](repeating: 0, count: 31))
        #expect(FieldElement(bytes: number(0xFF)).bytes == [18] + [UInt8](repeating: 0, count: 31))
        #expect(FieldElement(bytes: number(0xEC)).bytes == number(0xEC))
        // The top bit is not part of the number.
        #expect(FieldElement(bytes: number(0xEC, top: 0xFF)).bytes == number(0xEC))
        let minusOne = FieldElement.zero - .one
        #expect(minusOne.bytes == number(0xEC) && (minusOne * minusOne).bytes == FieldElement.one.bytes)
        #expect((FieldElement.sqrtMinusOne * FieldElement.sqrtMinusOne).bytes == minusOne.bytes)
    }

    /// RFC 8032 §7.1, test 1: the empty message.
    @Test func theRFCsFirstVectorVerifies() throws {
        func bytes(_ hex: String) -> [UInt8] {
            stride(from: 0, to: hex.count, by: 2).map { UInt8(hex.dropFirst($0).prefix(2), radix: 16)! }
        }
        let secret = bytes("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
        let publicKey = bytes("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
        let signature = bytes(
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
        )
        #expect(Array(try Curve25519.Signing.PrivateKey(rawRepresentation: secret).publicKey.rawRepresentation) == publicKey)
        #expect(Ed25519.isValidSignature(signature, of: [], publicKey: publicKey))
        #expect(!Ed25519.isValidSignature(signature, of: [0], publicKey: publicKey))
    }

    @Test func signaturesVerifyAsSwiftCryptoSaysAndChangesAreRefused() throws {
        // The group order L, little-endian: S + L is the same point but not a valid encoding.
        let order: [UInt8] = [
            0xED, 0xD3, 0xF5, 0x5C, 0x1A, 0x63, 0x12, 0x58, 0xD6, 0x9C, 0xF7, 0xA2, 0xDE, 0xF9, 0xDE, 0x14,
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10,
        ]
        for round in 0..<8 {
            let key = Curve25519.Signing.PrivateKey()
            let publicKey = Array(key.publicKey.rawRepresentation)
            let message = Self.random(round * 3)
            let signature = Array(try key.signature(for: message))
            #expect(Ed25519.isValidSignature(signature, of: message, publicKey: publicKey))

            var flipped = signature
            let bit = Int.random(in: 0..<512)
            flipped[bit / 8] ^= 1 << (bit % 8)
            #expect(Ed25519.isValidSignature(flipped, of: message, publicKey: publicKey) == key.publicKey.isValidSignature(flipped, for: message))
            #expect(!Ed25519.isValidSignature(flipped, of: message, publicKey: publicKey))

            var changed = message + [0]
            changed[changed.count - 1] = UInt8.random(in: 0...255)
            #expect(!Ed25519.isValidSignature(signature, of: changed, publicKey: publicKey))
            #expect(!Ed25519.isValidSignature(signature, of: message, publicKey: Array(Curve25519.Signing.PrivateKey().publicKey.rawRepresentation)))

            var malleable = signature
            var carry = 0
            for index in 32..<64 {
                let sum = Int(malleable[index]) + Int(order[index - 32]) + carry
                malleable[index] = UInt8(sum & 0xFF)
                carry = sum >> 8
            }
            #expect(!Ed25519.isValidSignature(malleable, of: message, publicKey: publicKey))
        }
        #expect(!Ed25519.isValidSignature([UInt8](repeating: 0, count: 64), of: [], publicKey: [UInt8](repeating: 0xFF, count: 32)))
    }

    @Test func manifestsReadAsFoundationWroteThem() throws {
        let manifest = RunnerManifest(
            interpreter: ["python3", "-u"],
            entrypoint: "script.py",
            environment: ["QUOTE": #"say "hi"\ then/now"#, "UNICODE": "é 中 🚀", "CONTROL": "a\tb\nc\u{01}", "EMPTY": ""],
            execution: .init(id: 9_007_199_254_740_000, eventId: 7, eventName: "nightly / backup", attempt: 3),
            deadline: 1_764_584_000.125,
            silenceLimit: 45
        )
        for formatting in [JSONEncoder.OutputFormatting.sortedKeys, [.prettyPrinted, .withoutEscapingSlashes]] {
            let encoder = JSONEncoder()
            encoder.outputFormatting = formatting
            #expect(RunnerManifest(json: Array(try encoder.encode(manifest))) == manifest)
        }
        for broken in [#"{"version": 1"#, "[1,2]", #"{"version": "1"}"#, #"{"a": "\ud800"}"#, "{} x", ""] {
            #expect(RunnerManifest(json: Array(broken.utf8)) == nil, "\(broken)")
        }
    }
}

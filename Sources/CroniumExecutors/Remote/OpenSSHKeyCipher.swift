import Crypto
import CryptoExtras
import Foundation

/// Opens the private part of a passphrase-protected OpenSSH key: the passphrase is stretched with
/// `bcrypt_pbkdf` (OpenBSD's, as `ssh-keygen` uses it) into an AES-256-CTR key and counter.
enum OpenSSHKeyCipher {
    static func decrypt(_ secret: [UInt8], cipher: String, kdf: String, kdfOptions: [UInt8], passphrase: String) throws(SSHError) -> [UInt8] {
        guard cipher == "aes256-ctr" || cipher == "aes128-ctr" else {
            throw SSHError(
                .badPrivateKey,
                "keys encrypted with \(cipher) are not supported: re-encrypt it with ssh-keygen -p -Z aes256-ctr -f KEYFILE"
            )
        }
        var options = SSHWireReader(kdfOptions)
        guard kdf == "bcrypt", let salt = options.bytes(), let rounds = options.uint32(), rounds > 0, rounds < 1 << 16 else {
            throw SSHError(.badPrivateKey, "the private key's passphrase settings (\(kdf)) are not ones ssh-keygen writes")
        }
        let keyLength = cipher == "aes256-ctr" ? 32 : 16
        let material = BcryptPBKDF.derive(password: Array(passphrase.utf8), salt: salt, rounds: Int(rounds), length: keyLength + 16)
        do {
            let nonce = try AES._CTR.Nonce(nonceBytes: material[keyLength...])
            return Array(try AES._CTR.decrypt(secret, using: SymmetricKey(data: material[..<keyLength]), nonce: nonce))
        } catch {
            throw SSHError(.badPrivateKey, "the private key cannot be decrypted")
        }
    }
}

/// `bcrypt_pbkdf` from OpenBSD: PBKDF2-like rounds of a bcrypt hash, each SHA-512 pre-hashed,
/// the output bytes interleaved across blocks.
enum BcryptPBKDF {
    static func derive(password: [UInt8], salt: [UInt8], rounds: Int, length: Int) -> [UInt8] {
        let stride = (length + 31) / 32
        let amount = (length + stride - 1) / stride
        let passwordHash = Array(SHA512.hash(data: password))
        var key = [UInt8](repeating: 0, count: length)
        var count: UInt32 = 1
        var remaining = length
        while remaining > 0 {
            let countSalt = salt + [UInt8(count >> 24), UInt8(count >> 16 & 0xFF), UInt8(count >> 8 & 0xFF), UInt8(count & 0xFF)]
            var block = hash(passwordHash, Array(SHA512.hash(data: countSalt)))
            var output = block
            for _ in 1..<rounds {
                block = hash(passwordHash, Array(SHA512.hash(data: block)))
                for i in output.indices { output[i] ^= block[i] }
            }
            var written = 0
            for i in 0..<min(amount, remaining) {
                let destination = i * stride + Int(count - 1)
                if destination >= length { break }
                key[destination] = output[i]
                written += 1
            }
            remaining -= written
            count += 1
        }
        return key
    }

    /// The bcrypt hash of one block: "OxychromaticBlowfishSwatDynamite" encrypted 64 times under
    /// a state expanded from both hashes.
    static func hash(_ passwordHash: [UInt8], _ saltHash: [UInt8]) -> [UInt8] {
        var state = Blowfish()
        state.expand(key: passwordHash, data: saltHash)
        for _ in 0..<64 {
            state.expand(key: saltHash)
            state.expand(key: passwordHash)
        }
        var words = Blowfish.words(Array("OxychromaticBlowfishSwatDynamite".utf8))
        for _ in 0..<64 {
            for j in Swift.stride(from: 0, to: words.count, by: 2) {
                var (left, right) = (words[j], words[j + 1])
                state.encrypt(&left, &right)
                (words[j], words[j + 1]) = (left, right)
            }
        }
        return words.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8 & 0xFF), UInt8($0 >> 16 & 0xFF), UInt8($0 >> 24)] }
    }
}

/// Blowfish's key schedule and block function, as bcrypt needs them.
struct Blowfish {
    var p = BlowfishTables.p
    var s = BlowfishTables.s

    /// The big-endian words of `bytes`.
    static func words(_ bytes: [UInt8]) -> [UInt32] {
        var position = 0
        return (0..<bytes.count / 4).map { _ in next(bytes, &position) }
    }

    /// The next big-endian word of `bytes`, read cyclically.
    static func next(_ bytes: [UInt8], _ position: inout Int) -> UInt32 {
        var word: UInt32 = 0
        for _ in 0..<4 {
            if position >= bytes.count { position = 0 }
            word = word << 8 | UInt32(bytes[position])
            position += 1
        }
        return word
    }

    func f(_ x: UInt32) -> UInt32 {
        ((s[Int(x >> 24)] &+ s[256 + Int(x >> 16 & 0xFF)]) ^ s[512 + Int(x >> 8 & 0xFF)]) &+ s[768 + Int(x & 0xFF)]
    }

    func encrypt(_ left: inout UInt32, _ right: inout UInt32) {
        var l = left ^ p[0], r = right
        for i in Swift.stride(from: 1, through: 15, by: 2) {
            r ^= f(l) ^ p[i]
            l ^= f(r) ^ p[i + 1]
        }
        left = r ^ p[17]
        right = l
    }

    /// Mixes `key` into the P-array, then re-encrypts the state, stirring in `data` (eksblowfish).
    mutating func expand(key: [UInt8], data: [UInt8]? = nil) {
        var keyPosition = 0, dataPosition = 0
        for i in 0..<18 { p[i] ^= Self.next(key, &keyPosition) }
        var l: UInt32 = 0, r: UInt32 = 0
        func step() {
            if let data {
                l ^= Self.next(data, &dataPosition)
                r ^= Self.next(data, &dataPosition)
            }
            encrypt(&l, &r)
        }
        for i in Swift.stride(from: 0, to: 18, by: 2) {
            step()
            (p[i], p[i + 1]) = (l, r)
        }
        for i in Swift.stride(from: 0, to: 1024, by: 2) {
            step()
            (s[i], s[i + 1]) = (l, r)
        }
    }
}

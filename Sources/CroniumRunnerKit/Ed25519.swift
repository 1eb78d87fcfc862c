/// Ed25519 signature verification (RFC 8032 §5.1.7), written out for `cronium-runner`, which
/// checks every payload with it and must not carry Foundation or swift-crypto. It does what
/// BoringSSL's `ED25519_verify` does: refuses an S that is not below the group order and a public
/// key that is not a point, computes R' = [S]B − [k]A with k = SHA-512(R ‖ A ‖ M) mod L, and
/// compares R' encoded with the R of the signature. Only public data goes in, so nothing here
/// needs to be constant-time.
public enum Ed25519 {
    public static func isValidSignature(_ signature: [UInt8], of message: [UInt8], publicKey: [UInt8]) -> Bool {
        guard signature.count == 64, publicKey.count == 32 else { return false }
        let r = Array(signature[0..<32])
        let s = Array(signature[32..<64])
        guard Scalar.isBelowOrder(s), let a = Point(decoding: publicKey) else { return false }
        let k = Scalar.reduce(SHA512Digest.hash(r + publicKey + message))
        let check = Point.base.multiplied(by: s).adding(a.multiplied(by: k).negated)
        return check.encoded == r
    }
}

/// An element of GF(2^255 − 19) in five limbs of 51 bits (each may hold a little more between
/// reductions).
struct FieldElement: Equatable {
    var l0: UInt64, l1: UInt64, l2: UInt64, l3: UInt64, l4: UInt64

    static let mask: UInt64 = (1 << 51) - 1
    static let zero = FieldElement(l0: 0, l1: 0, l2: 0, l3: 0, l4: 0)
    static let one = FieldElement(l0: 1, l1: 0, l2: 0, l3: 0, l4: 0)

    init(l0: UInt64, l1: UInt64, l2: UInt64, l3: UInt64, l4: UInt64) {
        (self.l0, self.l1, self.l2, self.l3, self.l4) = (l0, l1, l2, l3, l4)
    }

    init(_ small: UInt64) { self.init(l0: small, l1: 0, l2: 0, l3: 0, l4: 0) }

    /// 32 little-endian bytes, the top bit ignored (not reduced: a value ≥ p stays as it is).
    init(bytes: [UInt8]) {
        func word(_ offset: Int) -> UInt64 { (0..<8).reduce(0) { $0 | UInt64(bytes[offset + $1]) << (8 * $1) } }
        let (w0, w1, w2, w3) = (word(0), word(8), word(16), word(24))
        self.init(
            l0: w0 & Self.mask,
            l1: (w0 >> 51 | w1 << 13) & Self.mask,
            l2: (w1 >> 38 | w2 << 26) & Self.mask,
            l3: (w2 >> 25 | w3 << 39) & Self.mask,
            l4: (w3 >> 12) & Self.mask
        )
    }

    /// The canonical value (below p) as 32 little-endian bytes.
    var bytes: [UInt8] {
        // Twice: after one pass l1 may still hold a carry.
        var t = carried.carried
        // Subtract p when the value is p or more: add 19 and see whether bit 255 comes out.
        var q = (t.l0 &+ 19) >> 51
        q = (t.l1 &+ q) >> 51
        q = (t.l2 &+ q) >> 51
        q = (t.l3 &+ q) >> 51
        q = (t.l4 &+ q) >> 51
        t.l0 = t.l0 &+ 19 &* q
        t.propagate()
        t.l4 &= Self.mask
        let words = [t.l0 | t.l1 << 51, t.l1 >> 13 | t.l2 << 38, t.l2 >> 26 | t.l3 << 25, t.l3 >> 39 | t.l4 << 12]
        return words.flatMap { word in (0..<8).map { UInt8(truncatingIfNeeded: word >> (8 * $0)) } }
    }

    /// Limbs brought back to about 51 bits (the value is unchanged modulo p).
    var carried: FieldElement {
        var t = self
        t.propagate()
        t.l0 = t.l0 &+ 19 &* (t.l4 >> 51)
        t.l4 &= Self.mask
        t.l1 = t.l1 &+ (t.l0 >> 51)
        t.l0 &= Self.mask
        return t
    }

    /// Moves each limb's bits above 51 into the next one, from l0 to l4 (l4 keeps its own).
    private mutating func propagate() {
        l1 = l1 &+ (l0 >> 51)
        l0 &= Self.mask
        l2 = l2 &+ (l1 >> 51)
        l1 &= Self.mask
        l3 = l3 &+ (l2 >> 51)
        l2 &= Self.mask
        l4 = l4 &+ (l3 >> 51)
        l3 &= Self.mask
    }

    static func + (a: FieldElement, b: FieldElement) -> FieldElement {
        FieldElement(l0: a.l0 &+ b.l0, l1: a.l1 &+ b.l1, l2: a.l2 &+ b.l2, l3: a.l3 &+ b.l3, l4: a.l4 &+ b.l4).carried
    }

    /// a − b, computed as a + 4p − b so that no limb goes below zero.
    static func - (a: FieldElement, b: FieldElement) -> FieldElement {
        let (a, b) = (a.carried, b.carried)
        let p0: UInt64 = 0x1F_FFFF_FFFF_FFB4  // 4 × (2^51 − 19)
        let pi: UInt64 = 0x1F_FFFF_FFFF_FFFC  // 4 × (2^51 − 1)
        return FieldElement(l0: a.l0 &+ p0 &- b.l0, l1: a.l1 &+ pi &- b.l1, l2: a.l2 &+ pi &- b.l2, l3: a.l3 &+ pi &- b.l3, l4: a.l4 &+ pi &- b.l4)
            .carried
    }

    static prefix func - (a: FieldElement) -> FieldElement { .zero - a }

    static func * (a: FieldElement, b: FieldElement) -> FieldElement {
        let (a, b) = (a.carried, b.carried)
        func m(_ x: UInt64, _ y: UInt64) -> UInt128 { UInt128(x) * UInt128(y) }
        // Limbs at 2^255 and above come back multiplied by 19.
        let (b1, b2, b3, b4) = (b.l1 * 19, b.l2 * 19, b.l3 * 19, b.l4 * 19)
        let r0 = m(a.l0, b.l0) + m(a.l1, b4) + m(a.l2, b3) + m(a.l3, b2) + m(a.l4, b1)
        var r1 = m(a.l0, b.l1) + m(a.l1, b.l0) + m(a.l2, b4) + m(a.l3, b3) + m(a.l4, b2)
        var r2 = m(a.l0, b.l2) + m(a.l1, b.l1) + m(a.l2, b.l0) + m(a.l3, b4) + m(a.l4, b3)
        var r3 = m(a.l0, b.l3) + m(a.l1, b.l2) + m(a.l2, b.l1) + m(a.l3, b.l0) + m(a.l4, b4)
        var r4 = m(a.l0, b.l4) + m(a.l1, b.l3) + m(a.l2, b.l2) + m(a.l3, b.l1) + m(a.l4, b.l0)
        let mask = UInt128(Self.mask)
        r1 += r0 >> 51
        r2 += r1 >> 51
        r3 += r2 >> 51
        r4 += r3 >> 51
        let c0 = UInt64(r0 & mask) &+ 19 &* UInt64(truncatingIfNeeded: r4 >> 51)
        return FieldElement(l0: c0, l1: UInt64(r1 & mask), l2: UInt64(r2 & mask), l3: UInt64(r3 & mask), l4: UInt64(r4 & mask)).carried
    }

    var squared: FieldElement { self * self }

    /// self^(2^n).
    func squared(times n: Int) -> FieldElement {
        var t = self
        for _ in 0..<n { t = t.squared }
        return t
    }

    /// self^(2^250 − 1), the common part of inversion and square roots.
    private var power2To250Minus1: (value: FieldElement, power11: FieldElement) {
        let z2 = squared
        let z9 = z2.squared(times: 2) * self
        let z11 = z9 * z2
        let z2_5_0 = z11.squared * z9
        let z2_10_0 = z2_5_0.squared(times: 5) * z2_5_0
        let z2_20_0 = z2_10_0.squared(times: 10) * z2_10_0
        let z2_40_0 = z2_20_0.squared(times: 20) * z2_20_0
        let z2_50_0 = z2_40_0.squared(times: 10) * z2_10_0
        let z2_100_0 = z2_50_0.squared(times: 50) * z2_50_0
        let z2_200_0 = z2_100_0.squared(times: 100) * z2_100_0
        let z2_250_0 = z2_200_0.squared(times: 50) * z2_50_0
        return (z2_250_0, z11)
    }

    /// self^(p − 2) = 1 / self (0 for 0).
    var inverted: FieldElement {
        let (z2_250_0, z11) = power2To250Minus1
        return z2_250_0.squared(times: 5) * z11
    }

    /// self^((p − 5) / 8) = self^(2^252 − 3).
    var power2To252Minus3: FieldElement {
        power2To250Minus1.value.squared(times: 2) * self
    }

    var isNegative: Bool { bytes[0] & 1 == 1 }
    var isZero: Bool { bytes == [UInt8](repeating: 0, count: 32) }

    static func == (a: FieldElement, b: FieldElement) -> Bool { a.bytes == b.bytes }

    /// d = −121665 / 121666 and √−1, worked out once rather than copied in as constants.
    static let d = -FieldElement(121_665) * FieldElement(121_666).inverted
    static let d2 = d + d
    static let sqrtMinusOne: FieldElement = {
        // 2^((p − 1) / 4): (p − 1) / 4 = 2^253 − 5 = (2^252 − 3) · 2 + 1.
        let two = FieldElement(2)
        return two.power2To252Minus3.squared * two
    }()
}

/// A point of the twisted Edwards curve −x² + y² = 1 + d·x²·y², in extended coordinates.
struct Point {
    var x: FieldElement, y: FieldElement, z: FieldElement, t: FieldElement

    static let identity = Point(x: .zero, y: .one, z: .one, t: .zero)
    /// B, with y = 4/5 and x even.
    static let base = Point(decoding: [0x58] + [UInt8](repeating: 0x66, count: 31))!

    init(x: FieldElement, y: FieldElement, z: FieldElement, t: FieldElement) {
        (self.x, self.y, self.z, self.t) = (x, y, z, t)
    }

    /// RFC 8032 §5.1.3: nil when the bytes are not a point's encoding.
    init?(decoding bytes: [UInt8]) {
        guard bytes.count == 32 else { return nil }
        let y = FieldElement(bytes: bytes)
        // A y of p or more is not canonical.
        var clearedTop = bytes
        clearedTop[31] &= 0x7F
        guard y.bytes == clearedTop else { return nil }
        let sign = bytes[31] >> 7
        let y2 = y.squared
        let u = y2 - .one
        let v = FieldElement.d * y2 + .one
        let v3 = v.squared * v
        var x = u * v3 * (u * v3.squared * v).power2To252Minus3
        let vx2 = v * x.squared
        if vx2 != u {
            guard vx2 == -u else { return nil }
            x = x * FieldElement.sqrtMinusOne
        }
        if x.isZero && sign == 1 { return nil }
        if (x.isNegative ? 1 : 0) != sign { x = -x }
        self.init(x: x, y: y, z: .one, t: x * y)
    }

    /// y, and the sign of x in the top bit.
    var encoded: [UInt8] {
        let inverse = z.inverted
        var bytes = (y * inverse).bytes
        if (x * inverse).isNegative { bytes[31] |= 0x80 }
        return bytes
    }

    var negated: Point { Point(x: -x, y: y, z: z, t: -t) }

    /// The unified addition of Hisil, Wong, Carter and Dawson (2008) for a = −1: it also doubles.
    func adding(_ other: Point) -> Point {
        let a = (y - x) * (other.y - other.x)
        let b = (y + x) * (other.y + other.x)
        let c = t * FieldElement.d2 * other.t
        let d = (z + z) * other.z
        let (e, f, g, h) = (b - a, d - c, d + c, b + a)
        return Point(x: e * f, y: g * h, z: f * g, t: e * h)
    }

    /// [scalar]·self, the scalar in 32 little-endian bytes.
    func multiplied(by scalar: [UInt8]) -> Point {
        var result = Point.identity
        for bit in (0..<256).reversed() {
            result = result.adding(result)
            if scalar[bit / 8] >> (bit % 8) & 1 == 1 { result = result.adding(self) }
        }
        return result
    }
}

/// Scalars modulo the group order L = 2^252 + 27742317777372353535851937790883648493.
enum Scalar {
    /// L in little-endian bytes.
    static let order: [UInt8] = [
        0xED, 0xD3, 0xF5, 0x5C, 0x1A, 0x63, 0x12, 0x58, 0xD6, 0x9C, 0xF7, 0xA2, 0xDE, 0xF9, 0xDE, 0x14,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10,
    ]

    /// Whether 32 little-endian bytes are a number below L.
    static func isBelowOrder(_ bytes: [UInt8]) -> Bool {
        for index in (0..<32).reversed() where bytes[index] != order[index] { return bytes[index] < order[index] }
        return false
    }

    /// A little-endian number of any length modulo L, as 32 bytes: bit by bit, shifting in and
    /// subtracting L whenever the remainder reaches it.
    static func reduce(_ bytes: [UInt8]) -> [UInt8] {
        let l = words(order)
        var remainder = [UInt64](repeating: 0, count: 5)
        for bit in (0..<bytes.count * 8).reversed() {
            // remainder = remainder · 2 + bit
            var carry = UInt64(bytes[bit / 8] >> (bit % 8) & 1)
            for index in 0..<5 {
                let next = remainder[index] >> 63
                remainder[index] = remainder[index] << 1 | carry
                carry = next
            }
            if !isBelow(remainder, l) { remainder = subtract(remainder, l) }
        }
        return remainder.prefix(4).flatMap { word in (0..<8).map { UInt8(truncatingIfNeeded: word >> (8 * $0)) } }
    }

    private static func words(_ bytes: [UInt8]) -> [UInt64] {
        (0..<4).map { word in (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[word * 8 + $1]) << (8 * $1) } } + [0]
    }

    private static func isBelow(_ a: [UInt64], _ b: [UInt64]) -> Bool {
        for index in (0..<a.count).reversed() where a[index] != b[index] { return a[index] < b[index] }
        return false
    }

    private static func subtract(_ a: [UInt64], _ b: [UInt64]) -> [UInt64] {
        var result = a
        var borrow: UInt64 = 0
        for index in 0..<a.count {
            let (partial, overflow1) = a[index].subtractingReportingOverflow(b[index])
            let (difference, overflow2) = partial.subtractingReportingOverflow(borrow)
            result[index] = difference
            borrow = (overflow1 || overflow2) ? 1 : 0
        }
        return result
    }
}

import Crypto
import Foundation

/// Host keys as people see them: OpenSSH public key lines (`ssh-ed25519 AAAA…`), their SHA-256
/// fingerprints as `ssh-keygen -l` prints them, and the entries of a `known_hosts` file.
public enum HostKeys {
    /// `SHA256:` and the unpadded base64 of the SHA-256 of the key's wire form, as OpenSSH shows it;
    /// nil when `line` is not a public key line.
    public static func fingerprint(of line: String) -> String? {
        guard let blob = wireForm(of: line) else { return nil }
        let digest = Data(SHA256.hash(data: blob)).base64EncodedString()
        return "SHA256:" + digest.replacingOccurrences(of: "=", with: "")
    }

    /// The key's type and base64 body, without a comment: the form Cronium stores and compares.
    public static func normalised(_ line: String) -> String? {
        let fields = line.split(whereSeparator: \.isWhitespace)
        guard fields.count >= 2, wireForm(of: line) != nil else { return nil }
        return "\(fields[0]) \(fields[1])"
    }

    /// The key type a line names (`ssh-ed25519`, `ecdsa-sha2-nistp256`…).
    public static func type(of line: String) -> String {
        String(line.split(whereSeparator: \.isWhitespace).first ?? "")
    }

    /// The decoded key of a line whose type matches the type written inside the key.
    static func wireForm(of line: String) -> Data? {
        let fields = line.split(whereSeparator: \.isWhitespace)
        guard fields.count >= 2, let blob = Data(base64Encoded: String(fields[1])), blob.count > 4 else { return nil }
        let length = blob.prefix(4).reduce(0) { $0 << 8 | Int($1) }
        guard length == fields[0].utf8.count, blob.count >= 4 + length, blob.dropFirst(4).prefix(length).elementsEqual(fields[0].utf8) else {
            return nil
        }
        return blob
    }

    /// The keys a `known_hosts` text lists for `host` on `port` (normalised), in file order.
    /// Hashed names (`|1|…`), `[host]:port`, wildcards and negations are understood; revoked
    /// keys and certificate authorities are not pinned.
    public static func known(in text: String, host: String, port: Int) -> [String] {
        let name = port == 22 ? host : "[\(host)]:\(port)"
        var keys: [String] = []
        for raw in text.split(whereSeparator: \.isNewline) {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix("@") { continue }
            let fields = line.split(whereSeparator: \.isWhitespace).map(String.init)
            guard fields.count >= 3, matches(patterns: fields[0], name: name), let key = normalised("\(fields[1]) \(fields[2])") else { continue }
            if !keys.contains(key) { keys.append(key) }
        }
        return keys
    }

    /// Whether a host-pattern field names `name`: some pattern matches and no negated one does.
    static func matches(patterns field: String, name: String) -> Bool {
        if field.hasPrefix("|1|") { return hashedMatches(field, name: name) }
        var matched = false
        for pattern in field.split(separator: ",") {
            if pattern.hasPrefix("!") {
                if glob(String(pattern.dropFirst()).lowercased(), name.lowercased()) { return false }
            } else if glob(pattern.lowercased(), name.lowercased()) {
                matched = true
            }
        }
        return matched
    }

    /// `|1|salt|hash`: the HMAC-SHA1 of the name keyed by the salt, both base64.
    static func hashedMatches(_ field: String, name: String) -> Bool {
        let parts = field.split(separator: "|", omittingEmptySubsequences: true)
        guard parts.count == 3, let salt = Data(base64Encoded: String(parts[1])), let hash = Data(base64Encoded: String(parts[2])) else {
            return false
        }
        let mac = HMAC<Insecure.SHA1>.authenticationCode(for: Data(name.utf8), using: SymmetricKey(data: salt))
        return Data(mac) == hash
    }

    /// `*` for any text, `?` for one character.
    static func glob(_ pattern: String, _ text: String) -> Bool {
        let p = Array(pattern), t = Array(text)
        func match(_ i: Int, _ j: Int) -> Bool {
            if i == p.count { return j == t.count }
            if p[i] == "*" { return (j...t.count).contains { match(i + 1, $0) } }
            return j < t.count && (p[i] == "?" || p[i] == t[j]) && match(i + 1, j + 1)
        }
        return match(0, 0)
    }
}

import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The unprivileged account runs use when the server runs as root (`nobody` unless configured).
/// A server that is not root cannot switch users, and its runs keep its own.
public struct RunUser: Sendable, Equatable, CustomStringConvertible {
    public var name: String
    public var uid: uid_t
    public var gid: gid_t

    public init(name: String, uid: uid_t, gid: gid_t) {
        self.name = name
        self.uid = uid
        self.gid = gid
    }

    public var description: String { "\(name) (\(uid):\(gid))" }

    public struct LookupError: Error, CustomStringConvertible {
        public let description: String
    }

    /// `name` as a user name, or `uid[:gid]` as numbers. Root is refused: a run must not be root.
    public static func lookup(_ name: String) throws(LookupError) -> RunUser {
        let parts = name.split(separator: ":", omittingEmptySubsequences: false)
        if let uid = UInt32(parts[0]) {
            let entry = account(uid: uid)
            let gid = parts.count > 1 ? UInt32(parts[1]) : entry?.gid ?? uid
            guard let gid, parts.count <= 2 else { throw LookupError(description: "--run-user '\(name)' must be a user name or uid[:gid]") }
            return try checked(RunUser(name: entry?.name ?? "\(uid)", uid: uid, gid: gid))
        }
        guard let entry = account(name: name) else {
            throw LookupError(description: "--run-user '\(name)': no such user on this machine (give a name from /etc/passwd, or uid:gid)")
        }
        return try checked(entry)
    }

    /// The passwd entry of `uid`, read with the reentrant call: the plain one shares a buffer
    /// between threads.
    static func account(uid: uid_t) -> RunUser? {
        lookup { getpwuid_r(uid, &$0, $1, $2, &$3) }
    }

    static func account(name: String) -> RunUser? {
        lookup { getpwnam_r(name, &$0, $1, $2, &$3) }
    }

    private static func lookup(_ call: (inout passwd, UnsafeMutablePointer<CChar>, Int, inout UnsafeMutablePointer<passwd>?) -> Int32) -> RunUser? {
        var entry = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 16384)
        let status = buffer.withUnsafeMutableBufferPointer { buffer in
            buffer.baseAddress.map { call(&entry, $0, buffer.count, &result) } ?? ERANGE
        }
        guard status == 0, result != nil else { return nil }
        return RunUser(name: String(cString: entry.pw_name), uid: entry.pw_uid, gid: entry.pw_gid)
    }

    /// The name of group `gid`, if it has one.
    static func groupName(_ gid: gid_t) -> String? {
        var entry = group()
        var result: UnsafeMutablePointer<group>?
        var buffer = [CChar](repeating: 0, count: 16384)
        let status = buffer.withUnsafeMutableBufferPointer { buffer in
            buffer.baseAddress.map { getgrgid_r(gid, &entry, $0, buffer.count, &result) } ?? ERANGE
        }
        guard status == 0, result != nil else { return nil }
        return String(cString: entry.gr_name)
    }

    private static func checked(_ user: RunUser) throws(LookupError) -> RunUser {
        guard user.uid != 0, user.gid != 0 else { throw LookupError(description: "--run-user must not be root: runs never hold root's rights") }
        return user
    }

    /// The user this server runs as.
    public static var server: RunUser {
        let uid = getuid()
        return RunUser(name: account(uid: uid)?.name ?? "\(uid)", uid: uid, gid: getgid())
    }
}

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
            let gid = parts.count > 1 ? UInt32(parts[1]) : getpwuid(uid).map { $0.pointee.pw_gid } ?? uid
            guard let gid, parts.count <= 2 else { throw LookupError(description: "--run-user '\(name)' must be a user name or uid[:gid]") }
            return try checked(RunUser(name: getpwuid(uid).map { String(cString: $0.pointee.pw_name) } ?? "\(uid)", uid: uid, gid: gid))
        }
        guard let entry = getpwnam(name) else {
            throw LookupError(description: "--run-user '\(name)': no such user on this machine (give a name from /etc/passwd, or uid:gid)")
        }
        return try checked(RunUser(name: name, uid: entry.pointee.pw_uid, gid: entry.pointee.pw_gid))
    }

    private static func checked(_ user: RunUser) throws(LookupError) -> RunUser {
        guard user.uid != 0, user.gid != 0 else { throw LookupError(description: "--run-user must not be root: runs never hold root's rights") }
        return user
    }

    /// The user this server runs as.
    public static var server: RunUser {
        let uid = getuid()
        let name = getpwuid(uid).map { String(cString: $0.pointee.pw_name) } ?? "\(uid)"
        return RunUser(name: name, uid: uid, gid: getgid())
    }
}

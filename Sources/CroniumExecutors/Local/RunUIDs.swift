import CroniumCore
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A user id (and group id) of its own for each unsandboxed run of a root server, from a range no
/// account uses. Runs that shared one user could read each other's environment — their runtime
/// tokens — through `/proc/<pid>/environ`, and signal each other's processes; the sandbox
/// prevents both with its own PID namespace, a run without it with its own uid.
public final class RunUIDs: Sendable {
    public let range: ClosedRange<uid_t>
    private let inUse = Mutex(Set<uid_t>())

    /// 2^20 ids far above the ones accounts get (systemd's dynamic users end at 65519, container
    /// sub-id ranges usually start at 100000 and take 65536 per user).
    public static let defaultRange: ClosedRange<uid_t> = 2_100_000_000...2_101_048_575

    public init(range: ClosedRange<uid_t>) {
        self.range = range
    }

    /// The name scripts see in `USER` (the id has no passwd entry).
    static let userName = "cronium-run"

    /// A uid no running run holds. It starts from the execution id, so that one is reused only
    /// after as many runs as the range holds: a file a run left in a shared directory such as
    /// `/tmp` is not readable by the next runs. Nil when every id is taken.
    func acquire(for execution: ExecutionID) -> RunUser? {
        let count = UInt64(range.count)
        return inUse.withLock { inUse -> RunUser? in
            guard inUse.count < range.count else { return nil }
            var offset = UInt64(bitPattern: execution.rawValue) % count
            while inUse.contains(range.lowerBound + uid_t(offset)) { offset = (offset + 1) % count }
            let uid = range.lowerBound + uid_t(offset)
            inUse.insert(uid)
            return RunUser(name: Self.userName, uid: uid, gid: uid)
        }
    }

    func release(_ user: RunUser) {
        _ = inUse.withLock { $0.remove(user.uid) }
    }

    public struct RangeError: Error, CustomStringConvertible {
        public let description: String
    }

    /// `FIRST-LAST`, as `--run-uids` takes it: not root, at least 16 ids, and no account of this
    /// machine's among the first and the last (a range over real users would let runs act as them).
    public static func parse(_ text: String) throws(RangeError) -> ClosedRange<uid_t> {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 2, let first = uid_t(parts[0]), let last = uid_t(parts[1]), first <= last, last < uid_t.max else {
            throw RangeError(description: "--run-uids '\(text)' must be FIRST-LAST, two user ids, for example 2100000000-2101048575")
        }
        let range = first...last
        guard first > 0 else { throw RangeError(description: "--run-uids must not include 0: runs never hold root's rights") }
        guard range.count >= 16 else { throw RangeError(description: "--run-uids \(text) holds \(range.count) ids; give at least 16") }
        if let account = [first, last].lazy.compactMap({ RunUser.account(uid: $0) }).first {
            throw RangeError(description: "--run-uids \(text) includes the account \(account); choose ids no account uses")
        }
        return range
    }
}

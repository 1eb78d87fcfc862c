/// A first-come, first-served lock that suspends instead of blocking a thread.
///
/// SQLite allows one writer, and a transaction on a shared connection must not interleave with
/// another task's statements; actor isolation alone cannot give that, because an actor re-enters
/// at every `await`. (The log hub uses it too, to write each run's batches in order.)
public actor AsyncMutex {
    public init() {}

    private var locked = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    public func lock() async {
        if !locked {
            locked = true
            return
        }
        await withCheckedContinuation { waiters.append($0) }
    }

    public func unlock() {
        if waiters.isEmpty {
            locked = false
        } else {
            // Ownership passes straight to the next waiter, so nobody can barge in between.
            waiters.removeFirst().resume()
        }
    }

    public nonisolated func withLock<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        await lock()
        do {
            let value = try await body()
            await unlock()
            return value
        } catch {
            await unlock()
            throw error
        }
    }
}

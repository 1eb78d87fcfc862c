import Synchronization

/// One piece of work per key at a time: the first caller does it, in its own task; callers that
/// come meanwhile wait for its result instead of doing it again (one connect per server, one
/// runner check per connection). It starts no task of its own.
final class SingleFlight<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    /// The callers waiting on each flight under way.
    private let flights = Mutex<[Key: [CheckedContinuation<Value?, any Error>]]>([:])

    init() {}

    func run(_ key: Key, _ work: @Sendable () async throws -> Value) async throws -> Value {
        while true {
            let leads = flights.withLock { flights in
                guard flights[key] == nil else { return false }
                flights[key] = []
                return true
            }
            if leads {
                let result: Result<Value, any Error>
                do { result = .success(try await work()) } catch { result = .failure(error) }
                for waiter in flights.withLock({ $0.removeValue(forKey: key) ?? [] }) { waiter.resume(with: result.map(Optional.some)) }
                return try result.get()
            }
            let landed: Value? = try await withCheckedThrowingContinuation { waiter in
                let waits = flights.withLock { flights in
                    guard flights[key] != nil else { return false }
                    flights[key]!.append(waiter)
                    return true
                }
                // The flight landed between the two looks: go again (and lead, most likely).
                if !waits { waiter.resume(returning: nil) }
            }
            if let landed { return landed }
        }
    }

    /// How many callers wait on `key`'s flight (its leader not counted).
    func waiting(on key: Key) -> Int { flights.withLock { $0[key]?.count ?? 0 } }
}

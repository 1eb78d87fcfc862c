import Synchronization

/// Tells one run to stop, and why. The first reason wins; a stop before the run starts is kept,
/// so the run never starts.
public final class StopSignal: Sendable {
    private let stopReason = Mutex<String?>(nil)
    /// Remembers a ring that comes before anyone waits.
    private let doorbell = Doorbell()

    public init() {}

    public var reason: String? { stopReason.withLock { $0 } }

    /// Returns false when the run had already been told to stop.
    @discardableResult
    public func stop(_ reason: String) -> Bool {
        let first = stopReason.withLock { current in
            guard current == nil else { return false }
            current = reason
            return true
        }
        if first { doorbell.ring() }
        return first
    }

    /// Returns once ``stop(_:)`` was called, or when the calling task is cancelled. One waiter.
    func wait() async {
        guard reason == nil else { return }
        await doorbell.wait(until: nil, clock: SystemClock())
    }
}

import CroniumCore
import Synchronization

/// This node's runs from claim to recorded end, each with the signal that stops it. A cancel that
/// arrives between a run's claim and its registration leaves the signal here first, so the run
/// finds itself stopped as it starts.
final class RunningRuns: Sendable {
    private let signals = Mutex<[ExecutionID: StopSignal]>([:])

    /// The run's signal; a cancel that came first has left it already.
    func register(_ id: ExecutionID) -> StopSignal {
        signals.withLock { signals in
            if let early = signals[id] { return early }
            let stop = StopSignal()
            signals[id] = stop
            return stop
        }
    }

    func unregister(_ id: ExecutionID) {
        signals.withLock { _ = $0.removeValue(forKey: id) }
    }

    /// Tells run `id` to stop; true when it was not registered yet (claimed a moment ago: it finds
    /// its signal already stopped).
    func stop(_ id: ExecutionID, reason: String) -> Bool {
        let (signal, early) = signals.withLock { signals -> (StopSignal, Bool) in
            if let signal = signals[id] { return (signal, false) }
            let signal = StopSignal()
            signals[id] = signal
            return (signal, true)
        }
        signal.stop(reason)
        return early
    }

    /// Tells every run to stop (the node is shutting down).
    func stopAll(reason: String) {
        for stop in signals.withLock({ Array($0.values) }) { stop.stop(reason) }
    }
}

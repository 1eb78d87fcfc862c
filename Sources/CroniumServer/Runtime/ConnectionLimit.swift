import HummingbirdCore
import Logging
import NIOCore
import Synchronization

/// A server's connections, at most `limit` at once: one more is closed as soon as it is
/// accepted. A run's listener uses it so that a script holding connections open (it may fork
/// hundreds of processes, each with its own open-file limit) cannot spend the server's
/// descriptors; the helper libraries keep one connection per process and retry a closed one.
struct ConnectionLimited<Base: ServerChildChannel>: ServerChildChannel {
    typealias Value = Base.Value

    let base: Base
    let limit: Int
    private let open = Counter()

    init(_ base: Base, limit: Int) {
        self.base = base
        self.limit = limit
    }

    private final class Counter: Sendable {
        let value = Atomic(0)
    }

    struct TooManyConnections: Error {}

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        guard open.value.add(1, ordering: .relaxed).newValue <= limit else {
            open.value.subtract(1, ordering: .relaxed)
            channel.close(promise: nil)
            return channel.eventLoop.makeFailedFuture(TooManyConnections())
        }
        let setup = base.setup(channel: channel, logger: logger)
        setup.whenFailure { _ in open.value.subtract(1, ordering: .relaxed) }
        return setup
    }

    func handle(value: Value, logger: Logger) async {
        defer { open.value.subtract(1, ordering: .relaxed) }
        await base.handle(value: value, logger: logger)
    }
}

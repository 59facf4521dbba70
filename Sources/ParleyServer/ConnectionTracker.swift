import HummingbirdCore
import Logging
import NIOCore
import Synchronization

/// Every TCP connection the server has accepted and not yet closed, so a shutdown can end the ones the HTTP server
/// would wait on forever: a connection accepted before its first request (browsers open such sockets ahead of
/// time) waits for that request without noticing the shutdown.
final class ConnectionTracker: Sendable {
    private let open = Mutex<[ObjectIdentifier: any Channel]>([:])

    func add(_ channel: any Channel) {
        open.withLock { $0[ObjectIdentifier(channel)] = channel }
        channel.closeFuture.whenComplete { _ in
            _ = self.open.withLock { $0.removeValue(forKey: ObjectIdentifier(channel)) }
        }
    }

    /// Closes every connection still open.
    func closeAll() {
        let channels = open.withLock { Array($0.values) }
        for channel in channels { channel.close(promise: nil) }
    }
}

/// A server child channel that registers each accepted connection with a ``ConnectionTracker``.
struct TrackedChildChannel<Base: ServerChildChannel>: ServerChildChannel {
    typealias Value = Base.Value

    let base: Base
    let tracker: ConnectionTracker

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        tracker.add(channel)
        return base.setup(channel: channel, logger: logger)
    }

    func handle(value: Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}

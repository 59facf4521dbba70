import NIOCore
import Synchronization

/// One value per event loop, made the first time it is asked for on that loop: for work a loop does for all of its
/// connections at once (their heartbeat, waking their writers) instead of for each connection apart.
final class PerEventLoop<Value: Sendable>: Sendable {
    private let values = Mutex<[ObjectIdentifier: Value]>([:])
    private let make: @Sendable (any EventLoop) -> Value

    init(_ make: @escaping @Sendable (any EventLoop) -> Value) {
        self.make = make
    }

    /// The value of `eventLoop`; call it on that loop.
    func value(on eventLoop: any EventLoop) -> Value {
        eventLoop.preconditionInEventLoop()
        return values.withLock { values in
            if let value = values[ObjectIdentifier(eventLoop)] { return value }
            let value = make(eventLoop)
            values[ObjectIdentifier(eventLoop)] = value
            return value
        }
    }
}

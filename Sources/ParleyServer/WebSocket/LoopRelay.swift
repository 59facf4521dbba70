import NIOCore
import ParleyCore

/// How other threads reach a connection's handler: each call runs on the handler's event loop. One object per
/// connection serves the outbox, the session and the inbox.
final class LoopRelay: OutboxDrainer {
    private let handler: NIOLoopBound<WebSocketConnection>
    private let eventLoop: any EventLoop
    private let drainQueue: DrainQueue

    init(_ handler: NIOLoopBound<WebSocketConnection>, eventLoop: any EventLoop, drainQueue: DrainQueue) {
        self.handler = handler
        self.eventLoop = eventLoop
        self.drainQueue = drainQueue
    }

    func outboxHasWork() {
        drainQueue.schedule(self)
    }

    /// Drains the outbox; on the event loop.
    func drain() {
        handler.value.drain()
    }

    @Sendable func resumeReading() {
        let handler = self.handler
        eventLoop.execute { handler.value.resumeReading() }
    }

    func closeRequested() {
        let handler = self.handler
        eventLoop.execute { handler.value.closeRequested() }
    }
}

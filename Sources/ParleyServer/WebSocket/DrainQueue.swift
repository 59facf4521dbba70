import NIOCore
import ParleyCore
import Synchronization

/// What drains a connection's outbox on its event loop: a WebSocket's handler, an event stream's writer.
protocol OutboxDrainer: OutboxReader {
    /// Writes what the outbox holds; on the connection's event loop.
    func drain()
}

/// The connections of one event loop whose outboxes have something: fan-out of a message to a room wakes each
/// loop once, with one task that drains them all, instead of one task per member.
final class DrainQueue: Sendable {
    private let eventLoop: any EventLoop
    private let wakeUps: DeferredWakeUps
    /// Taken under the hub's lock when a push wakes a connection (Hub → Outbox → DrainQueue): it guards two fields
    /// and calls nothing; the loop's task is scheduled after it is released.
    private let pending = Mutex<(relays: [any OutboxDrainer], scheduled: Bool)>(([], false))

    /// - Parameter wakeUps: Where the loop's wake-ups wait while a store's writer hands out a commit.
    init(eventLoop: any EventLoop, wakeUps: DeferredWakeUps) {
        self.eventLoop = eventLoop
        self.wakeUps = wakeUps
    }

    func schedule(_ relay: any OutboxDrainer) {
        let first = pending.withLock { pending in
            pending.relays.append(relay)
            defer { pending.scheduled = true }
            return !pending.scheduled
        }
        if first {
            let eventLoop = self.eventLoop
            wakeUps.wake { eventLoop.execute { self.drainAll() } }
        }
    }

    private func drainAll() {
        let relays = pending.withLock { pending in
            pending.scheduled = false
            var taken: [any OutboxDrainer] = []
            swap(&taken, &pending.relays)
            return taken
        }
        for relay in relays { relay.drain() }
    }
}

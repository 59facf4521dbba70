import NIOCore
import ParleyCore
import Synchronization

/// What drains a connection's outbox on its event loop: a WebSocket's handler, an event stream's writer.
protocol OutboxDrainer: OutboxReader {
    /// Writes what the outbox holds; on the connection's event loop.
    func drain()
}

/// The connections of one event loop whose outboxes have something: fan-out of a message to a room wakes each
/// loop once, with one task that drains them all (a pass), instead of one task per member. Passes are paced by
/// ``DrainPacing``: after a long one, the next waits, so that the frames that come meanwhile share writes.
final class DrainQueue: Sendable {
    private struct Pending {
        var relays: [any OutboxDrainer] = []
        /// A pass is running, or one is scheduled: connections that get work now are drained by it or by the pass
        /// it schedules when it ends.
        var passRunningOrScheduled = false
        var pacing = DrainPacing()
    }

    private let eventLoop: any EventLoop
    private let wakeUps: DeferredWakeUps
    private let now: @Sendable () -> NIODeadline
    /// Taken under the hub's lock when a push wakes a connection (Hub → Outbox → DrainQueue): it guards a few
    /// fields and calls nothing; the loop's task is scheduled after it is released.
    private let pending = Mutex(Pending())

    /// - Parameters:
    ///   - wakeUps: Where the loop's wake-ups wait while a store's writer hands out a commit.
    ///   - now: What passes are timed with: the loop's clock unless a test moves one by hand.
    init(eventLoop: any EventLoop, wakeUps: DeferredWakeUps, now: (@Sendable () -> NIODeadline)? = nil) {
        self.eventLoop = eventLoop
        self.wakeUps = wakeUps
        self.now = now ?? { eventLoop.now }
    }

    func schedule(_ relay: any OutboxDrainer) {
        let (first, notBefore) = pending.withLock { pending in
            pending.relays.append(relay)
            defer { pending.passRunningOrScheduled = true }
            return (!pending.passRunningOrScheduled, pending.pacing.nextPassNotBefore)
        }
        guard first else { return }
        wakeUps.wake { self.schedulePass(notBefore: notBefore) }
    }

    private func schedulePass(notBefore: NIODeadline?) {
        if let notBefore, notBefore > now() {
            eventLoop.scheduleTask(deadline: notBefore) { self.pass() }
        } else {
            eventLoop.execute { self.pass() }
        }
    }

    private func pass() {
        let start = now()
        let relays = pending.withLock { pending in
            var taken: [any OutboxDrainer] = []
            swap(&taken, &pending.relays)
            return taken
        }
        for relay in relays { relay.drain() }
        let end = now()
        let (more, notBefore) = pending.withLock { pending in
            pending.pacing.passRan(from: start, to: end)
            pending.passRunningOrScheduled = !pending.relays.isEmpty
            return (pending.passRunningOrScheduled, pending.pacing.nextPassNotBefore)
        }
        if more { schedulePass(notBefore: notBefore) }
    }
}

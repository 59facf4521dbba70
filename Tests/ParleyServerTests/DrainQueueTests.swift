import NIOCore
import NIOEmbedded
import ParleyCore
import Synchronization
import Testing

@testable import ParleyServer

/// An event loop's drain passes and their pacing, on NIO's testing loop: the time a pass takes is told by a clock
/// the test moves, and the loop's scheduled passes run when the test moves the loop's time.
@Suite struct DrainQueueTests {
    /// A connection whose drain takes as long as the test says, and can give another connection work meanwhile.
    final class TimedDrainer: OutboxDrainer {
        let drains = Mutex(0)
        let onDrain: @Sendable () -> Void

        init(onDrain: @escaping @Sendable () -> Void) {
            self.onDrain = onDrain
        }

        func outboxHasWork() {}

        func drain() {
            drains.withLock { $0 += 1 }
            onDrain()
        }

        var drainCount: Int { drains.withLock { $0 } }
    }

    /// The time the queue reads: moved by the drains (the time a pass takes) and by the test.
    final class PassClock: Sendable {
        private let current = Mutex(NIODeadline.uptimeNanoseconds(0))

        var now: NIODeadline { current.withLock { $0 } }

        func advance(by duration: TimeAmount) {
            current.withLock { $0 = $0 + duration }
        }

        func catchUp(to deadline: NIODeadline) {
            current.withLock { $0 = max($0, deadline) }
        }
    }

    /// A loop, its queue, and the clock the queue times passes with, kept in step with the loop's time.
    final class Harness: Sendable {
        let loop = EmbeddedEventLoop()
        let clock = PassClock()
        let queue: DrainQueue

        init() {
            let clock = self.clock
            queue = DrainQueue(eventLoop: loop, wakeUps: DeferredWakeUps(), now: { clock.now })
        }

        /// What a drain calls to take `duration`: only the queue's clock moves while the loop runs the pass.
        func passTime(_ duration: TimeAmount) {
            clock.advance(by: duration)
        }

        /// Moves the loop's time (and the clock with it) to `milliseconds` after the start, running what is due.
        func advance(toMilliseconds milliseconds: Int64) {
            let deadline = NIODeadline.uptimeNanoseconds(UInt64(milliseconds) * 1_000_000)
            clock.catchUp(to: deadline)
            loop.advanceTime(to: deadline)
        }
    }

    /// A pass that took `passMicroseconds`, then work at `workAtMilliseconds`: the next pass is due at `dueAtMilliseconds`.
    static let holds: [(passMicroseconds: Int64, workAtMilliseconds: Int64, dueAtMilliseconds: Int64)] = [
        (900, 1, 1),  // a short pass holds nothing back
        (4_000, 4, 8),  // a long one holds the next as long as it took
        (50_000, 50, 60),  // at most 10 ms
        (5_000, 10, 10),  // work that comes after the hold is drained at once
    ]

    @Test(arguments: holds)
    func theNextPassWaitsAsLongAsTheLastTookIfItWasLong(passMicroseconds: Int64, workAtMilliseconds: Int64, dueAtMilliseconds: Int64) {
        let harness = Harness()
        let drainer = TimedDrainer { harness.passTime(.microseconds(passMicroseconds)) }
        harness.queue.schedule(drainer)
        harness.loop.run()
        #expect(drainer.drainCount == 1)
        harness.advance(toMilliseconds: workAtMilliseconds)
        harness.queue.schedule(drainer)
        harness.loop.run()
        if dueAtMilliseconds > workAtMilliseconds {
            harness.advance(toMilliseconds: dueAtMilliseconds - 1)
            #expect(drainer.drainCount == 1)
            harness.advance(toMilliseconds: dueAtMilliseconds)
        }
        #expect(drainer.drainCount == 2)
    }

    @Test func workThatArrivesDuringALongPassWaitsForTheNextOne() {
        let harness = Harness()
        let late = TimedDrainer {}
        let busy = TimedDrainer {
            harness.passTime(.milliseconds(2))
            harness.queue.schedule(late)
        }
        harness.queue.schedule(busy)
        harness.loop.run()
        #expect(busy.drainCount == 1)
        #expect(late.drainCount == 0)
        harness.advance(toMilliseconds: 3)
        #expect(late.drainCount == 0)
        harness.advance(toMilliseconds: 4)
        #expect(late.drainCount == 1)
        #expect(busy.drainCount == 1)
    }
}

import Foundation
import NIOCore
import ParleyCore
import ParleyProtocol
import Synchronization
import Testing

@Suite(.timeLimit(.minutes(1))) struct OutboxTests {
    private func frame(_ text: String) -> OutboundFrame { OutboundFrame(ByteBuffer(string: text)) }

    @Test func theWriterGetsQueuedFramesInOrderInOneBatch() async {
        let outbox = Outbox(maxBytes: 1000, maxFrames: 10)
        #expect(outbox.push(frame("a")))
        #expect(outbox.push(frame("b")))
        #expect(await outbox.next() == .frames([frame("a"), frame("b")]))
    }

    @Test func aWriterTakingAtMostSomeBytesLeavesTheRestWhereARemovalFromTheRoomReachesIt() async {
        let outbox = Outbox(maxBytes: 1000, maxFrames: 10)
        let lobby = OutboundFrame.tag(of: "lobby")
        for text in ["l1", "l2", "l3", "l4"] { #expect(outbox.push(OutboundFrame(ByteBuffer(string: text), room: lobby))) }
        #expect(outbox.push(frame("other")))
        #expect(
            await outbox.next(maxBytes: 5)
                == .frames([OutboundFrame(ByteBuffer(string: "l1"), room: lobby), OutboundFrame(ByteBuffer(string: "l2"), room: lobby)])
        )
        outbox.discard(room: "lobby")
        #expect(await outbox.next(maxBytes: 1) == .frames([frame("other")]), "at least one frame, even over the limit")
    }

    /// Whether a close was asked for (`true`) or the outbox finished without one, once either happens.
    private func closing(_ outbox: Outbox) async -> Bool {
        await withCheckedContinuation { continuation in outbox.whenClosing { continuation.resume(returning: $0) } }
    }

    @Test func overflowingTheFrameBoundDropsEverythingAndAsksForA4008Close() async {
        let outbox = Outbox(maxBytes: 1000, maxFrames: 3)
        for text in ["1", "2", "3"] { #expect(outbox.push(frame(text))) }
        #expect(!outbox.push(frame("4")))
        #expect(!outbox.push(frame("5")))
        #expect(await outbox.next() == .close(.slowConsumer, reason: "slow consumer: outbox overflowed"))
        #expect(await closing(outbox))
    }

    @Test func overflowingTheByteBoundAsksForA4008Close() async {
        let outbox = Outbox(maxBytes: 10, maxFrames: 100)
        #expect(outbox.push(frame("123456")))
        #expect(!outbox.push(frame("12345")))
        #expect(await outbox.next() == .close(.slowConsumer, reason: "slow consumer: outbox overflowed"))
    }

    @Test func aSingleFrameLargerThanTheBoundIsAcceptedIntoAnEmptyOutbox() async {
        let outbox = Outbox(maxBytes: 4, maxFrames: 10)
        #expect(outbox.push(frame("larger than four")))
        #expect(await outbox.next() == .frames([frame("larger than four")]))
    }

    @Test func pushWaitingForSpaceWaitsForTheWriterInsteadOfOverflowing() async {
        let outbox = Outbox(maxBytes: 1000, maxFrames: 2)
        let producer = Task {
            for index in 1...10 {
                guard await outbox.pushWaitingForSpace(frame("\(index)")) else { return false }
            }
            return true
        }
        var received: [OutboundFrame] = []
        while received.count < 10 {
            guard case .frames(let frames) = await outbox.next() else { break }
            #expect(frames.count <= 2)
            received += frames
        }
        #expect(await producer.value)
        #expect(received == (1...10).map { frame("\($0)") })
    }

    @Test func closeFlushesQueuedFramesFirst() async {
        let outbox = Outbox(maxBytes: 1000, maxFrames: 10)
        outbox.push(frame("last words"))
        outbox.close(.goingAway, reason: "bye")
        #expect(!outbox.push(frame("too late")))
        #expect(await outbox.next() == .frames([frame("last words")]))
        #expect(await outbox.next() == .close(.goingAway, reason: "bye"))
    }

    @Test func finishWakesAWaitingWriterAndReleasesWaitingProducers() async {
        let outbox = Outbox(maxBytes: 1000, maxFrames: 1)
        outbox.push(frame("full"))
        let producer = Task { await outbox.pushWaitingForSpace(frame("blocked")) }
        let watcher = Task { await closing(outbox) }
        try? await Task.sleep(for: .milliseconds(50))
        outbox.finish()
        #expect(await producer.value == false)
        #expect(await watcher.value == false)
        #expect(await outbox.next() == .finished)
        #expect(outbox.hasFinished)
    }
}

@Suite struct RateLimiterTests {
    @Test func allowsABurstThenRefillsAtTheRate() {
        var limiter = RateLimiter(rate: 10, burst: 3)
        let start = Duration.seconds(100)
        let offsets: [Duration] =
            [.zero, .zero, .zero, .zero, .milliseconds(50), .milliseconds(150), .milliseconds(150)]
            + Array(repeating: .seconds(10), count: 4)
        let allowed = offsets.map { limiter.allow(now: start + $0) }
        #expect(allowed == [true, true, true, false, false, true, false, true, true, true, false])
    }

    @Test func aRateOfZeroAllowsEverything() {
        var limiter = RateLimiter(rate: 0, burst: 1)
        let allowed = (0..<10_000).filter { _ in limiter.allow(now: .zero) }.count
        #expect(allowed == 10_000)
    }
}

@Suite(.timeLimit(.minutes(1))) struct WorkQueueTests {
    @Test func theConsumerTakesEverythingQueuedAtOnceThenNilAfterFinish() async {
        let queue = WorkQueue<Int>()
        queue.push(1)
        queue.push(2)
        #expect(await queue.next() == [1, 2])
        queue.push(3)
        queue.finish()
        #expect(!queue.push(4))
        #expect(await queue.next() == [3])
        #expect(await queue.next() == nil)
    }

    @Test func aThreadConsumerIsWokenByAPushFromAnotherThreadAndByFinish() async {
        let queue = WorkQueue<Int>()
        let taken = await withCheckedContinuation { (done: CheckedContinuation<[[Int]], Never>) in
            Thread {
                var taken: [[Int]] = []
                while let batch = queue.nextBlocking() { taken.append(batch) }
                done.resume(returning: taken)
            }.start()
            Thread {
                for value in 1...1_000 { queue.push(value) }
                queue.finish()
            }.start()
        }
        #expect(taken.flatMap { $0 } == Array(1...1_000), "every element once, in order, then nil")
    }

    @Test func waitingForMoreEndsWithTheFirstPushAndAtTheDeadlineWithNothing() async {
        let queue = WorkQueue<Int>()
        let started = DispatchTime.now()
        #expect(queue.moreBlocking(until: .now() + .milliseconds(50)) == [], "nothing came")
        #expect(DispatchTime.now() >= started + .milliseconds(50), "it waited out the window")
        let pushedLater = await withCheckedContinuation { (done: CheckedContinuation<[Int], Never>) in
            Thread { done.resume(returning: queue.moreBlocking(until: .now() + .seconds(30))) }.start()
            Thread {
                Thread.sleep(forTimeInterval: 0.05)
                queue.push(7)
            }.start()
        }
        #expect(pushedLater == [7], "a push ends the wait long before its deadline (the suite's limit is a minute)")
        queue.push(8)
        #expect(queue.moreBlocking(until: .now() + .seconds(30)) == [8], "what is queued already is taken at once")
        queue.finish()
        #expect(queue.moreBlocking(until: .now() + .seconds(30)) == [], "a finished queue does not wait")
        #expect(queue.nextBlocking() == nil)
    }

    /// Pushes from another thread race waits that time out (a push can take the waiting registration just as the
    /// wait gives up); the wake-up such a push sends must be taken then, or the next wait would end before its
    /// deadline with nothing: a wake-up from a push always finds what was pushed.
    @Test func waitsThatTimeOutAsPushesComeLeaveNoWakeUpBehind() async {
        let queue = WorkQueue<Int>()
        let pushing = Atomic<Bool>(true)
        let (taken, endedEarlyWithNothing) = await withCheckedContinuation { (done: CheckedContinuation<(Int, Int), Never>) in
            Thread {
                var value = 0
                while pushing.load(ordering: .relaxed) {
                    value += 1
                    queue.push(value)
                    // About as long as a wait: pushes then land on every stage of one, its timing out included.
                    let until = DispatchTime.now() + .microseconds(Int.random(in: 1...40))
                    while DispatchTime.now() < until {}
                }
            }.start()
            Thread {
                var taken = 0
                var endedEarlyWithNothing = 0
                for _ in 0..<20_000 {
                    let deadline = DispatchTime.now() + .microseconds(Int.random(in: 1...20))
                    let more = queue.moreBlocking(until: deadline)
                    if more.isEmpty, DispatchTime.now() < deadline { endedEarlyWithNothing += 1 }
                    taken += more.count
                }
                pushing.store(false, ordering: .relaxed)
                done.resume(returning: (taken, endedEarlyWithNothing))
            }.start()
        }
        #expect(taken > 0)
        #expect(endedEarlyWithNothing == 0, "a wait woken by a wake-up left behind by an earlier one")
    }
}

@Suite(.timeLimit(.minutes(1))) struct DeferredWakeUpsTests {
    @Test func aWakeUpRunsAtOnceUnlessHeldThenWhenTheLastHoldEnds() {
        let wakeUps = DeferredWakeUps()
        let woken = Mutex<[String]>([])
        wakeUps.wake { woken.withLock { $0.append("free") } }
        #expect(woken.withLock { $0 } == ["free"])
        wakeUps.holding {
            wakeUps.wake { woken.withLock { $0.append("a") } }
            wakeUps.holding {
                wakeUps.wake { woken.withLock { $0.append("b") } }
            }
            #expect(woken.withLock { $0 } == ["free"], "an inner hold's end does not release the outer one's")
        }
        #expect(woken.withLock { $0 } == ["free", "a", "b"])
        wakeUps.wake { woken.withLock { $0.append("after") } }
        #expect(woken.withLock { $0 }.last == "after")
    }

    @Test func anotherThreadsWakeUpIsNotHeld() {
        let wakeUps = DeferredWakeUps()
        let woken = Mutex<[String]>([])
        wakeUps.holding {
            let asked = DispatchSemaphore(value: 0)
            Thread {
                wakeUps.wake { woken.withLock { $0.append("event loop") } }
                asked.signal()
            }.start()
            asked.wait()
            #expect(woken.withLock { $0 } == ["event loop"], "an event loop's own wake-up does not wait for the writer")
        }
    }
}

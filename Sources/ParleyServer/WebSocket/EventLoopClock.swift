import NIOCore

/// An event loop's own time as a `Clock`, for what a connection schedules on its loop: the loop's `now` is the
/// clock's, so a test's `EmbeddedEventLoop` moves both at once.
struct EventLoopClock: Clock {
    struct Instant: InstantProtocol {
        let deadline: NIODeadline

        func advanced(by duration: Duration) -> Instant { Instant(deadline: deadline + TimeAmount(duration)) }
        func duration(to other: Instant) -> Duration { .nanoseconds((other.deadline - deadline).nanoseconds) }
        static func < (left: Instant, right: Instant) -> Bool { left.deadline < right.deadline }
    }

    let eventLoop: any EventLoop

    var now: Instant { Instant(deadline: eventLoop.now) }
    var minimumResolution: Duration { .nanoseconds(1) }

    func sleep(until deadline: Instant, tolerance: Duration?) async throws {
        try await eventLoop.scheduleTask(deadline: deadline.deadline) {}.futureResult.get()
    }
}

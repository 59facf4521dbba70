import Synchronization

/// A clock that moves only when a test moves it, so deadlines are tested without waiting.
final class ManualClock: Clock, Sendable {
    struct Instant: InstantProtocol {
        var sinceStart: Duration

        func advanced(by duration: Duration) -> Instant { Instant(sinceStart: sinceStart + duration) }
        func duration(to other: Instant) -> Duration { other.sinceStart - sinceStart }
        static func < (left: Instant, right: Instant) -> Bool { left.sinceStart < right.sinceStart }
    }

    private let current = Mutex(Instant(sinceStart: .zero))

    var now: Instant { current.withLock { $0 } }
    var minimumResolution: Duration { .zero }

    /// Moves the clock forward.
    func advance(by duration: Duration) {
        current.withLock { $0 = $0.advanced(by: duration) }
    }

    /// Sleeping is not what this clock is for: the code under test is handed instants, never made to wait.
    func sleep(until deadline: Instant, tolerance: Duration?) async throws {
        while now < deadline { await Task.yield() }
    }
}

import NIOCore

/// When an event loop's next drain pass may start, from how long its last one took.
///
/// A pass writes to every connection of the loop whose outbox has something, one write each. In a large room at a
/// moderate rate each message is a pass of its own, and each member gets one frame per write: about 5 µs of kernel
/// time per frame here, against about 1.2 µs when four frames share a write. So after a long pass (at least
/// ``longPass``), the next one waits as long as that pass took (at most ``maxHold``): what comes meanwhile piles up in
/// the outboxes and goes out together, and a busy loop spends at most about half its time writing, the rest reading.
/// After a short pass, or once the wait is over, a pass starts at once: a quiet server or a small room waits for
/// nothing. Measured in a 1,000-client room (docs/benchmarks.md): a fifth less CPU per delivery at 100 msg/s, two
/// fifths more deliveries a second at saturation, shorter tails in both; small rooms unchanged.
struct DrainPacing {
    /// Passes shorter than this (a few hundred deliveries) hold nothing back.
    static let longPass = TimeAmount.milliseconds(1)
    /// The longest wait after a pass, however long the pass took.
    static let maxHold = TimeAmount.milliseconds(10)

    /// When the last pass ended and how long it took.
    private var lastEnd = NIODeadline.uptimeNanoseconds(0)
    private var lastLength = TimeAmount.zero

    /// Records a pass that ran from `start` to `end`.
    mutating func passRan(from start: NIODeadline, to end: NIODeadline) {
        lastEnd = end
        lastLength = end - start
    }

    /// The earliest start of the next pass, or `nil` for "at once".
    var nextPassNotBefore: NIODeadline? {
        guard lastLength >= Self.longPass else { return nil }
        return lastEnd + min(lastLength, Self.maxHold)
    }
}

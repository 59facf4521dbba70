/// A token bucket: `rate` tokens a second, holding at most `burst`. Time is passed in, so tests need no clock.
public struct RateLimiter: Sendable {
    private let rate: Double
    private let burst: Double
    private var tokens: Double
    private var last: Duration?

    /// Creates a full bucket. A `rate` of 0 or less allows everything.
    public init(rate: Double, burst: Int) {
        self.rate = rate
        self.burst = Double(max(burst, 1))
        self.tokens = self.burst
    }

    /// Takes `cost` tokens if there are that many (a cost above the burst is allowed from a full bucket).
    /// - Parameters:
    ///   - now: The current time on any monotonic clock, as a duration since its origin.
    ///   - cost: Tokens the action takes: 1 for a command, the size for bytes.
    /// - Returns: Whether the action is allowed.
    public mutating func allow(now: Duration, cost: Double = 1) -> Bool {
        guard rate > 0 else { return true }
        if let last {
            let elapsed = Double((now - last).components.seconds) + Double((now - last).components.attoseconds) / 1e18
            tokens = min(burst, tokens + max(elapsed, 0) * rate)
        }
        last = now
        guard tokens >= min(cost, burst) else { return false }
        tokens -= cost
        return true
    }
}

import Synchronization

/// What one client address, or one signed-in user, may do across all of its connections, besides what each
/// connection may do: limits per connection alone multiply with the number of connections opened.
public struct AllowanceLimits: Sendable, Equatable {
    /// TCP connections open at once (HTTP and WebSocket alike); 0 for no limit.
    public var maxConnections: Int
    /// Commands per second, all connections together; 0 turns the limit off.
    public var commandsPerSecond: Double
    /// Commands in one burst.
    public var commandBurst: Int
    /// Bytes of message text stored per second, all connections together; 0 turns the limit off.
    public var storedBytesPerSecond: Int
    /// Bytes of message text stored in one burst.
    public var storedBytesBurst: Int

    /// Creates limits; the defaults are `parley serve`'s per client address.
    public init(
        maxConnections: Int = 256,
        commandsPerSecond: Double = 200,
        commandBurst: Int = 1000,
        storedBytesPerSecond: Int = 64 * 1024,
        storedBytesBurst: Int = 1024 * 1024
    ) {
        self.maxConnections = maxConnections
        self.commandsPerSecond = commandsPerSecond
        self.commandBurst = commandBurst
        self.storedBytesPerSecond = storedBytesPerSecond
        self.storedBytesBurst = storedBytesBurst
    }

    /// `parley serve`'s defaults per signed-in user: the per-address rates, and no cap on connections (the user's
    /// addresses are capped).
    public static let perUser = AllowanceLimits(maxConnections: 0)
}

/// The allowance of one client address or one signed-in user, shared by all of its open connections (see
/// ``Allowances``).
public final class Allowance: Sendable {
    /// What the allowance is kept for, as logs show it: a client address (an IPv6 address by its /64 network) or a
    /// user id.
    public let holder: String
    private let buckets: Mutex<(commands: RateLimiter, storedBytes: RateLimiter)>
    private let now: @Sendable () -> Duration

    init(holder: String, limits: AllowanceLimits, now: @escaping @Sendable () -> Duration) {
        self.holder = holder
        self.now = now
        buckets = Mutex(
            (
                RateLimiter(rate: limits.commandsPerSecond, burst: limits.commandBurst),
                RateLimiter(rate: Double(limits.storedBytesPerSecond), burst: limits.storedBytesBurst)
            )
        )
    }

    /// An allowance with no limits, for connections that have no address (tests, in-process clients).
    public static func unlimited(_ holder: String = "local") -> Allowance {
        Allowance(holder: holder, limits: AllowanceLimits(commandsPerSecond: 0, storedBytesPerSecond: 0), now: { .zero })
    }

    /// Takes one command from the allowance.
    public func allowsCommand() -> Bool {
        let time = now()
        return buckets.withLock { $0.commands.allow(now: time) }
    }

    /// Takes `bytes` of message text to store from the allowance.
    public func allowsStoring(bytes: Int) -> Bool {
        let time = now()
        return buckets.withLock { $0.storedBytes.allow(now: time, cost: Double(bytes)) }
    }
}

/// The holders (client addresses, or signed-in users) with connections open, each with its count of connections
/// and its shared allowance.
public final class Allowances: Sendable {
    private let limits: AllowanceLimits
    private let now: @Sendable () -> Duration
    private let open = Mutex<[String: (allowance: Allowance, connections: Int)]>([:])

    /// - Parameters:
    ///   - limits: What each holder may do.
    ///   - now: A monotonic clock for the rate limits.
    public init(limits: AllowanceLimits, now: @escaping @Sendable () -> Duration = Session.monotonicNow) {
        self.limits = limits
        self.now = now
    }

    /// Counts a new connection of `holder`.
    /// - Returns: The holder's allowance, or `nil` (and nothing counted) when it has
    ///   ``AllowanceLimits/maxConnections`` open already.
    public func admit(_ holder: String) -> Allowance? {
        open.withLock { open in
            if let entry = open[holder] {
                guard limits.maxConnections <= 0 || entry.connections < limits.maxConnections else { return nil }
                open[holder]!.connections += 1
                return entry.allowance
            }
            let allowance = Allowance(holder: holder, limits: limits, now: now)
            open[holder] = (allowance, 1)
            return allowance
        }
    }

    /// Forgets a connection counted by ``admit(_:)``; the allowance goes with its holder's last connection.
    public func release(_ allowance: Allowance) {
        open.withLock { open in
            guard let entry = open[allowance.holder] else { return }
            open[allowance.holder] = entry.connections > 1 ? (entry.allowance, entry.connections - 1) : nil
        }
    }

    /// The holder's allowance for a request that holds no connection (an HTTP API call). It is counted as a
    /// connection until it would have refilled (at most a minute), so that requests in a row draw on one allowance
    /// instead of each finding a new, full one.
    /// - Returns: `nil` when the holder has ``AllowanceLimits/maxConnections`` open already.
    public func admitRequest(_ holder: String) -> Allowance? {
        guard let allowance = admit(holder) else { return nil }
        let refill = max(
            limits.commandsPerSecond > 0 ? Double(limits.commandBurst) / limits.commandsPerSecond : 0,
            limits.storedBytesPerSecond > 0 ? Double(limits.storedBytesBurst) / Double(limits.storedBytesPerSecond) : 0
        )
        Task {
            try? await Task.sleep(for: .seconds(min(refill, 60)))
            self.release(allowance)
        }
        return allowance
    }
}

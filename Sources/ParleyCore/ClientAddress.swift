import Synchronization

/// What one client address may do across all of its connections, besides what each connection may do: limits per
/// connection alone multiply with the number of connections an address opens.
public struct AddressLimits: Sendable, Equatable {
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

    /// Creates limits; the defaults are `parley serve`'s.
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
}

/// One client address's allowance, shared by all of its open connections (see ``ClientAddresses``).
public final class ClientAddress: Sendable {
    /// The address as counted (an IPv6 address by its /64 network) and as logs show it.
    public let address: String
    private let buckets: Mutex<(commands: RateLimiter, storedBytes: RateLimiter)>
    private let now: @Sendable () -> Duration

    init(address: String, limits: AddressLimits, now: @escaping @Sendable () -> Duration) {
        self.address = address
        self.now = now
        buckets = Mutex(
            (
                RateLimiter(rate: limits.commandsPerSecond, burst: limits.commandBurst),
                RateLimiter(rate: Double(limits.storedBytesPerSecond), burst: limits.storedBytesBurst)
            )
        )
    }

    /// An allowance with no limits, for connections that have no address (tests, in-process clients).
    public static func unlimited(_ address: String = "local") -> ClientAddress {
        ClientAddress(
            address: address, limits: AddressLimits(commandsPerSecond: 0, storedBytesPerSecond: 0), now: { .zero }
        )
    }

    /// Takes one command from the address's allowance.
    public func allowsCommand() -> Bool {
        let time = now()
        return buckets.withLock { $0.commands.allow(now: time) }
    }

    /// Takes `bytes` of message text to store from the address's allowance.
    public func allowsStoring(bytes: Int) -> Bool {
        let time = now()
        return buckets.withLock { $0.storedBytes.allow(now: time, cost: Double(bytes)) }
    }
}

/// The client addresses with connections open, each with its count of connections and its shared allowance.
public final class ClientAddresses: Sendable {
    private let limits: AddressLimits
    private let now: @Sendable () -> Duration
    private let open = Mutex<[String: (client: ClientAddress, connections: Int)]>([:])

    /// - Parameters:
    ///   - limits: What each address may do.
    ///   - now: A monotonic clock for the rate limits.
    public init(limits: AddressLimits, now: @escaping @Sendable () -> Duration = Session.monotonicNow) {
        self.limits = limits
        self.now = now
    }

    /// Counts a new connection from `address`.
    /// - Returns: The address's allowance, or `nil` (and nothing counted) when it has ``AddressLimits/maxConnections``
    ///   open already.
    public func admit(_ address: String) -> ClientAddress? {
        open.withLock { open in
            if let entry = open[address] {
                guard limits.maxConnections <= 0 || entry.connections < limits.maxConnections else { return nil }
                open[address]!.connections += 1
                return entry.client
            }
            let client = ClientAddress(address: address, limits: limits, now: now)
            open[address] = (client, 1)
            return client
        }
    }

    /// Forgets a connection counted by ``admit(_:)``; the address's allowance goes with its last connection.
    public func release(_ client: ClientAddress) {
        open.withLock { open in
            guard let entry = open[client.address] else { return }
            open[client.address] = entry.connections > 1 ? (entry.client, entry.connections - 1) : nil
        }
    }
}

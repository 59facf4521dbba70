import CoreMetrics
import ParleyProtocol

/// What a node counts, through swift-metrics; every name starts with `parley_`.
///
/// Each node is given its own factory (the server passes a Prometheus registry), so several nodes in one process
/// (tests) keep separate figures.
public struct ParleyMetrics: Sendable {
    /// Open WebSocket connections (both modes).
    public let connectionsOpen: Meter
    /// Connection–room memberships: one per connection per joined room.
    public let roomMemberships: Meter
    /// `send` commands and plain-mode texts accepted for storing.
    public let messagesReceived: Counter
    /// Messages committed to the store (resends deduplicated are not counted).
    public let messagesStored: Counter
    /// Live message frames queued on members' outboxes by fan-out.
    public let deliveries: Counter
    /// Messages queued for a parley.v1 member right after a gap in its room's offsets: the member will never get
    /// the ones in between (a delivery that never came). There should be none; alert on any.
    public let deliveryGaps: Counter
    /// Message frames sent by `join` replays.
    public let replayedMessages: Counter
    /// Connections closed with 4008 because their outbox overflowed.
    public let slowConsumerCloses: Counter
    /// Commands dropped by the rate limiter.
    public let rateLimitedCommands: Counter
    /// Connections closed for breaking RFC 6455 or the frame limit (1002, 1007, 1009 …).
    public let protocolViolations: Counter
    /// How long each store commit took.
    public let commitDuration: Timer
    /// How many messages each store commit carried.
    public let commitBatchSize: Recorder
    /// Store commits that failed (their messages were answered `internal`).
    public let commitFailures: Counter
    /// Times the connection carrying fan-out between nodes was lost (cluster only).
    public let clusterLinkLosses: Counter
    /// Messages read back from the store because their notification was missed or travelled by reference.
    public let clusterCatchUpMessages: Counter
    private let errorCounters: [ErrorCode: Counter]
    private let signInCounters: [SignInOutcome: Counter]

    /// How a `POST /api/v1/login` ended.
    public enum SignInOutcome: String, CaseIterable, Sendable {
        /// Signed in.
        case ok
        /// A wrong password or an unknown user.
        case refused
        /// Refused unread: too many failures for the name or from the address.
        case throttled
    }

    /// Creates the metrics on `factory`.
    public init(factory: any MetricsFactory) {
        connectionsOpen = Meter(label: "parley_connections_open", factory: factory)
        roomMemberships = Meter(label: "parley_room_memberships", factory: factory)
        messagesReceived = Counter(label: "parley_messages_received_total", factory: factory)
        messagesStored = Counter(label: "parley_messages_stored_total", factory: factory)
        deliveries = Counter(label: "parley_deliveries_total", factory: factory)
        deliveryGaps = Counter(label: "parley_delivery_gaps_total", factory: factory)
        replayedMessages = Counter(label: "parley_replayed_messages_total", factory: factory)
        slowConsumerCloses = Counter(label: "parley_slow_consumer_closes_total", factory: factory)
        rateLimitedCommands = Counter(label: "parley_rate_limited_commands_total", factory: factory)
        protocolViolations = Counter(label: "parley_protocol_violations_total", factory: factory)
        commitDuration = Timer(label: "parley_store_commit_duration_seconds", factory: factory)
        commitBatchSize = Recorder(label: "parley_store_commit_batch_size", factory: factory)
        commitFailures = Counter(label: "parley_store_commit_failures_total", factory: factory)
        clusterLinkLosses = Counter(label: "parley_cluster_link_losses_total", factory: factory)
        clusterCatchUpMessages = Counter(label: "parley_cluster_catch_up_messages_total", factory: factory)
        errorCounters = Dictionary(
            uniqueKeysWithValues: ErrorCode.allCases.map {
                ($0, Counter(label: "parley_errors_total", dimensions: [("code", $0.rawValue)], factory: factory))
            }
        )
        signInCounters = Dictionary(
            uniqueKeysWithValues: SignInOutcome.allCases.map {
                ($0, Counter(label: "parley_sign_ins_total", dimensions: [("outcome", $0.rawValue)], factory: factory))
            }
        )
    }

    /// Metrics that go nowhere.
    public static var disabled: ParleyMetrics { ParleyMetrics(factory: NOOPMetricsHandler.instance) }

    /// Counts one `error` frame sent with `code`.
    public func countError(_ code: ErrorCode) {
        errorCounters[code]?.increment()
    }

    /// Counts one sign-in attempt by how it ended.
    public func countSignIn(_ outcome: SignInOutcome) {
        signInCounters[outcome]?.increment()
    }
}

extension Duration {
    /// The duration in whole nanoseconds, for swift-metrics timers.
    public var nanoseconds: Int64 {
        components.seconds * 1_000_000_000 + components.attoseconds / 1_000_000_000
    }
}

import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOPosix
import ParleyCore
import ParleyIdentity
import ParleyPostgres
import ParleyProtocol
import ParleySQLite
import Prometheus
import ServiceLifecycle
import UnixSignals

/// A Parley node: the store, the hub and the HTTP/WebSocket server, run as one `ServiceGroup`.
///
/// ```swift
/// let server = try await ParleyServer(configuration: ServerConfiguration(port: 0), logger: logger)
/// try await server.run { address in print("listening on \(address)") }
/// ```
public struct ParleyServer: Sendable {
    /// The configuration it was made with.
    public let configuration: ServerConfiguration
    let hub: Hub
    let store: any MessageStore
    /// Accounts, sessions and trusted tokens.
    let identity: IdentityService
    /// Rooms, memberships, roles and bans.
    let rooms: any RoomStore
    /// This node's name in the access events it records.
    let node = UUID().uuidString.lowercased()
    /// The connections whose credentials can expire or be revoked.
    let signedIn = SignedInConnections()
    /// The certificate HTTPS and WSS are served with; `nil` for plain HTTP.
    let certificates: TLSCertificates?
    /// Where password hashing runs, off the event loops.
    let passwordThreads: NIOThreadPool
    /// What carries messages and presence to the other nodes; `nil` on a single node.
    let broker: (any Broker)?
    let logger: Logger
    /// Where this node's metrics are collected, served at `/metrics`.
    let metricsRegistry: PrometheusCollectorRegistry
    let metrics: ParleyMetrics
    let connections: ConnectionTracker

    /// Opens (and migrates) the store and prepares the node; nothing listens until
    /// ``run(gracefulShutdownSignals:onListening:)``.
    /// - Throws: When the database cannot be opened or reached, with a message naming it.
    public init(configuration: ServerConfiguration, logger: Logger) async throws {
        let registry = PrometheusCollectorRegistry()
        let metrics = ParleyMetrics(factory: Self.metricsFactory(registry))
        self.configuration = configuration
        self.logger = logger
        self.metricsRegistry = registry
        self.metrics = metrics
        let maxConnections =
            configuration.maxConnections
            ?? ConnectionTracker.maxConnections(forOpenFileLimit: OpenFileLimit.current ?? 1024 * 1024)
        logger.info("connection limit", metadata: ["connections": "\(maxConnections)"])
        self.connections = ConnectionTracker(
            addresses: Allowances(limits: configuration.addressLimits),
            maxConnections: maxConnections,
            log: LogThrottle(logger: logger)
        )
        self.certificates = try configuration.tls.map(TLSCertificates.init(files:))
        let passwordThreads = NIOThreadPool(numberOfThreads: 1)
        passwordThreads.start()
        self.passwordThreads = passwordThreads
        let passwords = Passwords(cost: configuration.passwordCost, threads: passwordThreads)
        var tokens: TrustedTokens?
        if let jwt = configuration.jwt { tokens = try await TrustedTokens(settings: jwt) }
        let accounts: any AccountStore
        if let location = configuration.postgres {
            let (announcements, announcementQueue) = AsyncStream.makeStream(of: Hub.Announcement.self)
            let hub = Hub(limits: configuration.limits, plainMode: configuration.plainMode, metrics: metrics, announcements: announcementQueue)
            let store = try await PostgresMessageStore(location: location, metrics: metrics, logger: logger)
            // Plain clients start at the head; one connecting before the cluster link is up must not be caught up
            // from the first message of the room.
            hub.advancePlainRoomHead(to: try await store.head(of: configuration.plainMode.room))
            self.hub = hub
            self.store = store
            self.rooms = store.rooms
            accounts = store.accounts
            self.broker = PostgresClusterLink(
                store: store,
                hub: hub,
                announcements: announcements,
                nodeTimeout: configuration.nodeTimeout,
                logger: logger
            )
        } else {
            let hub = Hub(limits: configuration.limits, plainMode: configuration.plainMode, metrics: metrics)
            self.hub = hub
            let store = try SQLiteMessageStore(
                path: configuration.databasePath,
                metrics: metrics,
                logger: logger,
                wakeUps: hub.wakeUps,
                onCommit: { hub.deliver($0) }
            )
            self.store = store
            self.rooms = store.rooms
            accounts = store.accounts
            self.broker = nil
        }
        self.identity = IdentityService(accounts: accounts, passwords: passwords, tokens: tokens, settings: configuration.identity)
    }

    private static func metricsFactory(_ registry: PrometheusCollectorRegistry) -> PrometheusMetricsFactory {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.durationHistogramBuckets["parley_store_commit_duration_seconds"] = [
            .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10),
            .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .seconds(1),
        ]
        factory.valueHistogramBuckets["parley_store_commit_batch_size"] = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000]
        return factory
    }

    /// Runs until a shutdown signal (or cancellation), then drains: refuses new clients, closes every client with
    /// 1001, waits for them (at most the drain timeout), stops the HTTP server and flushes the store.
    /// - Parameters:
    ///   - gracefulShutdownSignals: The signals that start a drain.
    ///   - onListening: Called once the server accepts connections, with its `http://host:port` address.
    public func run(
        gracefulShutdownSignals: [UnixSignal] = [.sigterm, .sigint],
        onListening: @escaping @Sendable (String) async -> Void = { _ in }
    ) async throws {
        try await makeServiceGroup(gracefulShutdownSignals: gracefulShutdownSignals, onListening: onListening).run()
    }

    /// How long the HTTP server and the store get to stop once clients are drained.
    static let shutdownGrace: Duration = .seconds(5)

    /// The services of a node, in start order; a graceful shutdown stops them in reverse: drain, server, broker,
    /// store.
    public func makeServiceGroup(
        gracefulShutdownSignals: [UnixSignal] = [],
        onListening: @escaping @Sendable (String) async -> Void
    ) -> ServiceGroup {
        let application = makeApplication(onListening: onListening)
        let drain = DrainService(hub: hub, connections: connections, timeout: configuration.drainTimeout, logger: logger)
        let watch = AccessWatch(accounts: identity.accounts, rooms: rooms, node: node, hub: hub, signedIn: signedIn, logger: logger)
        let reload = ReloadService(certificates: certificates, logger: logger)
        let services: [any Service] =
            [ThreadPoolService(pool: passwordThreads), store] + (broker.map { [$0] } ?? [])
            + [reload, watch, PresenceCounts(hub: hub), application, drain]
        var group = ServiceGroupConfiguration(
            services: services,
            gracefulShutdownSignals: gracefulShutdownSignals,
            logger: logger
        )
        // A last bound on the whole shutdown (connections the HTTP server would wait on are closed by the drain):
        // past it the services are cancelled, and the store still flushes on cancellation.
        group.maximumGracefulShutdownDuration = configuration.drainTimeout + Self.shutdownGrace
        return ServiceGroup(configuration: group)
    }

    private func makeApplication(onListening: @escaping @Sendable (String) async -> Void) -> some ApplicationProtocol {
        // Hummingbird's trace level prints request details Parley's own logs leave out: it logs at debug at most.
        var frameworkLogger = logger
        frameworkLogger.logLevel = max(logger.logLevel, .debug)
        let log = LogThrottle(logger: logger)
        let settings = WebSocketConnection.Settings(
            hub: hub,
            store: store,
            limits: configuration.limits,
            userLimits: configuration.userLimits,
            identity: identity,
            signedIn: signedIn,
            rooms: rooms,
            node: node,
            heartbeat: Heartbeat(interval: configuration.pingInterval, timeout: configuration.pongTimeout),
            logger: logger
        )
        let endpoint = ChatEndpoint(
            settings: settings,
            originPolicy: OriginPolicy(allowedOrigins: configuration.allowedOrigins),
            log: log
        )
        let guardSettings = HTTPRequestGuard.Settings(
            requestTimeout: TimeAmount(configuration.requestTimeout),
            idleTimeout: TimeAmount(configuration.idleTimeout),
            maxHeaderBytes: configuration.maxHeaderBytes,
            hostPolicy: HostPolicy(bindHost: configuration.host, publicHosts: configuration.publicHosts),
            log: log
        )
        let connections = self.connections
        let certificates = self.certificates
        let scheme = certificates == nil ? "http" : "https"
        let host = configuration.host
        return Application(
            router: makeRouter(sessions: settings.sessionEnvironment, drainQueues: settings.drainQueues),
            server: HTTPServerBuilder { responder in
                ChatChildChannel(
                    responder: responder,
                    endpoint: endpoint,
                    connections: connections,
                    guardSettings: guardSettings,
                    certificates: certificates
                )
            },
            configuration: .init(address: .hostname(host, port: configuration.port), serverName: "Parley"),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? 0
                let shownHost = host.contains(":") ? "[\(host)]" : host
                await onListening("\(scheme)://\(shownHost):\(port)")
            },
            logger: frameworkLogger
        )
    }
}

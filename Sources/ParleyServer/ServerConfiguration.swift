import Logging
import ParleyCore
import ParleyPostgres
import ParleyProtocol

/// Everything `parley serve` can be told.
public struct ServerConfiguration: Sendable {
    /// The address to listen on.
    public var host: String
    /// The port; 0 picks a free one.
    public var port: Int
    /// The SQLite file holding history (when ``postgres`` is `nil`).
    public var databasePath: String
    /// The PostgreSQL database shared by the nodes of a cluster; `nil` for a single node on SQLite.
    public var postgres: PostgresLocation?
    /// In a cluster, how long a node may go without a heartbeat before the others count it as dead.
    public var nodeTimeout: Duration
    /// The limits every connection gets.
    public var limits: Limits
    /// Plain mode's room and strings.
    public var plainMode: PlainModeSettings
    /// Origins accepted besides those on the server's own host name, e.g. `https://chat.example.com`.
    public var allowedOrigins: [String]
    /// How often each WebSocket is pinged.
    public var pingInterval: Duration
    /// How long a pong may take before the connection counts as dead and is dropped.
    public var pongTimeout: Duration
    /// Open WebSocket connections allowed per client IP address; 0 for no limit. Behind a reverse proxy every client
    /// has the proxy's address: raise it or set 0 there.
    public var maxConnectionsPerAddress: Int
    /// How long a shutdown waits for clients to close before it goes on.
    public var drainTimeout: Duration
    /// A folder of static files served at `/` instead of the embedded web client (for working on the client).
    public var webRoot: String?
    /// The log level.
    public var logLevel: Logger.Level

    /// Creates a configuration; the defaults are `parley serve`'s.
    public init(
        host: String = "127.0.0.1",
        port: Int = 8000,
        databasePath: String = "parley.sqlite",
        postgres: PostgresLocation? = nil,
        nodeTimeout: Duration = .seconds(15),
        limits: Limits = Limits(),
        plainMode: PlainModeSettings = PlainModeSettings(),
        allowedOrigins: [String] = [],
        pingInterval: Duration = .seconds(25),
        pongTimeout: Duration = .seconds(10),
        maxConnectionsPerAddress: Int = 256,
        drainTimeout: Duration = .seconds(10),
        webRoot: String? = nil,
        logLevel: Logger.Level = .info
    ) {
        self.host = host
        self.port = port
        self.databasePath = databasePath
        self.postgres = postgres
        self.nodeTimeout = nodeTimeout
        self.limits = limits
        self.plainMode = plainMode
        self.allowedOrigins = allowedOrigins
        self.pingInterval = pingInterval
        self.pongTimeout = pongTimeout
        self.maxConnectionsPerAddress = maxConnectionsPerAddress
        self.drainTimeout = drainTimeout
        self.webRoot = webRoot
        self.logLevel = logLevel
    }
}

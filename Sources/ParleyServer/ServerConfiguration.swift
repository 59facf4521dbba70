import Logging
import ParleyCore
import ParleyIdentity
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
    /// Host names clients reach the server by besides loopback ones (a reverse proxy's public name, say); on a
    /// loopback bind no other `Host` is answered (see ``HostPolicy``).
    public var publicHosts: [String]
    /// How often each WebSocket is pinged.
    public var pingInterval: Duration
    /// How long a pong may take before the connection counts as dead and is dropped.
    public var pongTimeout: Duration
    /// What each client address may do across its connections: open connections (HTTP and WebSocket), commands
    /// and stored text per second. Behind a reverse proxy every client has the proxy's address: raise them there.
    public var addressLimits: AllowanceLimits
    /// What each signed-in user may do across their connections on one node (commands and stored text per second);
    /// unlike the address limits, these hold behind a proxy.
    public var userLimits: AllowanceLimits
    /// The most TCP connections held at once; `nil` for the open file limit less a reserve (see ``ConnectionTracker``).
    public var maxConnections: Int?
    /// How long a new connection has to send its first HTTP request, whole.
    public var requestTimeout: Duration
    /// How long a kept-alive HTTP connection may wait for its next request.
    public var idleTimeout: Duration
    /// The largest HTTP request header block; larger ones are answered `431`.
    public var maxHeaderBytes: Int
    /// How long a shutdown waits for clients to close before it goes on.
    public var drainTimeout: Duration
    /// A folder of static files served at `/` instead of the embedded web client (for working on the client).
    public var webRoot: String?
    /// Guests, registration and how long sessions last.
    public var identity: IdentityService.Settings
    /// bcrypt's work factor for passwords (tests lower it).
    public var passwordCost: UInt8
    /// The JWT issuers trusted (`--jwt-key`, `--jwt-issuer`, `--jwt-audience`); `nil` for none.
    public var jwt: TrustedTokens.Settings?
    /// The certificate and key to serve HTTPS and WSS with; `nil` for plain HTTP.
    public var tls: TLSFiles?
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
        publicHosts: [String] = [],
        pingInterval: Duration = .seconds(25),
        pongTimeout: Duration = .seconds(10),
        addressLimits: AllowanceLimits = AllowanceLimits(),
        userLimits: AllowanceLimits = .perUser,
        maxConnections: Int? = nil,
        requestTimeout: Duration = .seconds(10),
        idleTimeout: Duration = .seconds(60),
        maxHeaderBytes: Int = 16 * 1024,
        drainTimeout: Duration = .seconds(10),
        webRoot: String? = nil,
        identity: IdentityService.Settings = IdentityService.Settings(),
        passwordCost: UInt8 = 12,
        jwt: TrustedTokens.Settings? = nil,
        tls: TLSFiles? = nil,
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
        self.publicHosts = publicHosts
        self.pingInterval = pingInterval
        self.pongTimeout = pongTimeout
        self.addressLimits = addressLimits
        self.userLimits = userLimits
        self.maxConnections = maxConnections
        self.requestTimeout = requestTimeout
        self.idleTimeout = idleTimeout
        self.maxHeaderBytes = maxHeaderBytes
        self.drainTimeout = drainTimeout
        self.webRoot = webRoot
        self.identity = identity
        self.passwordCost = passwordCost
        self.jwt = jwt
        self.tls = tls
        self.logLevel = logLevel
    }
}

/// The PEM files TLS is served with (`--tls-cert`, `--tls-key`), read again on SIGHUP.
public struct TLSFiles: Sendable, Equatable {
    /// The certificate chain, leaf first.
    public var certificatePath: String
    /// The private key.
    public var keyPath: String

    /// Creates the pair.
    public init(certificatePath: String, keyPath: String) {
        self.certificatePath = certificatePath
        self.keyPath = keyPath
    }
}

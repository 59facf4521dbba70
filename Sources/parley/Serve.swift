import ArgumentParser
import Foundation
import Logging
import ParleyCore
import ParleyIdentity
import ParleyPostgres
import ParleyProtocol
import ParleyServer

/// `parley serve`: runs a Parley node until SIGTERM or SIGINT, then drains.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a Parley node.",
        discussion: """
            Every option can also be set with the environment variable shown in its help; the option wins. \
            On SIGTERM or SIGINT the node stops accepting clients, closes every client with 1001, flushes the \
            database and exits 0.
            """
    )

    @Option(help: "The address to listen on. (PARLEY_HOST; default 127.0.0.1)")
    var host: String?

    @Option(help: "The port to listen on; 0 picks a free one. (PARLEY_PORT; default 8000)")
    var port: Int?

    @Option(
        help:
            "The SQLite file holding history, created if absent, or a PostgreSQL database shared by several nodes: postgres://user:password@host:5432/name (password also from PGPASSWORD; ?sslmode=require for TLS). (PARLEY_DB; default parley.sqlite)"
    )
    var db: String?

    @Option(
        help:
            "With PostgreSQL: seconds a node may go without a heartbeat before the others count it as dead and its members as gone. (PARLEY_NODE_TIMEOUT; default 15)"
    )
    var nodeTimeout: Int?

    @Option(help: "The largest message text in UTF-8 bytes; larger sends get too_large. (PARLEY_MAX_TEXT_BYTES; default 16384)")
    var maxTextBytes: Int?

    @Option(
        help: "The largest WebSocket frame or message in bytes; larger ones close the connection with 1009. (PARLEY_MAX_FRAME_BYTES; default 65536)"
    )
    var maxFrameBytes: Int?

    @Option(
        help:
            "Commands per connection as PER_SECOND:BURST; 0 turns every rate limit off, the per-address and per-user ones too unless they are given (as load tests need). (PARLEY_RATE_LIMIT; default 10:100)"
    )
    var rateLimit: String?

    @Option(
        help:
            "Commands per client address, all its connections together, as PER_SECOND:BURST; 0 turns it off. (PARLEY_ADDRESS_RATE_LIMIT; default 200:1000)"
    )
    var addressRateLimit: String?

    @Option(
        help:
            "Bytes of message text stored per client address, all its connections together, as BYTES_PER_SECOND:BURST; 0 turns it off. (PARLEY_ADDRESS_TEXT_RATE; default 65536:1048576)"
    )
    var addressTextRate: String?

    @Option(
        help:
            "Commands per signed-in user, all their connections together, as PER_SECOND:BURST; 0 turns it off. (PARLEY_USER_RATE_LIMIT; default 200:1000)"
    )
    var userRateLimit: String?

    @Option(
        help:
            "Bytes of message text stored per signed-in user, all their connections together, as BYTES_PER_SECOND:BURST; 0 turns it off. (PARLEY_USER_TEXT_RATE; default 65536:1048576)"
    )
    var userTextRate: String?

    @Option(help: "Rooms one connection may be joined to at once. (PARLEY_MAX_JOINED_ROOMS; default 256)")
    var maxJoinedRooms: Int?

    @Option(
        help:
            "Rooms with more users than this are large: joined lists a page of them, presence is a count at most once a second, typing reaches only the recently active. (PARLEY_PRESENCE_LIST_LIMIT; default 100)"
    )
    var presenceListLimit: Int?

    @Option(help: "Bytes a connection's outbox holds before it is closed with 4008. (PARLEY_OUTBOX_BYTES; default 1048576)")
    var outboxBytes: Int?

    @Option(help: "Frames a connection's outbox holds before it is closed with 4008. (PARLEY_OUTBOX_FRAMES; default 1000)")
    var outboxFrames: Int?

    @Option(
        help:
            "An origin allowed to open WebSockets besides the server's own host name, e.g. https://chat.example.com; repeatable. (PARLEY_ALLOWED_ORIGINS, comma-separated)"
    )
    var allowedOrigin: [String] = []

    @Option(
        help:
            "A host name clients reach this server by besides loopback ones, e.g. chat.example.com behind a proxy; repeatable. On a loopback --host no other Host header is answered (against DNS rebinding). (PARLEY_PUBLIC_HOSTS, comma-separated)"
    )
    var publicHost: [String] = []

    @Option(help: "Seconds between WebSocket pings. (PARLEY_PING_INTERVAL; default 25)")
    var pingInterval: Int?

    @Option(help: "Seconds a pong may take before the connection is dropped as dead. (PARLEY_PONG_TIMEOUT; default 10)")
    var pongTimeout: Int?

    @Option(
        help:
            "Open TCP connections (HTTP and WebSocket) allowed per client IP address (an IPv6 /64), 0 for no limit; behind a proxy every client has the proxy's address. (PARLEY_MAX_CONNECTIONS_PER_IP; default 256)"
    )
    var maxConnectionsPerIp: Int?

    @Option(
        help:
            "The most TCP connections held at once; past it new ones wait in the kernel's backlog. (PARLEY_MAX_CONNECTIONS; default the open file limit less a reserve of up to 128)"
    )
    var maxConnections: Int?

    @Option(help: "Seconds a new connection has to send its first HTTP request, whole. (PARLEY_REQUEST_TIMEOUT; default 10)")
    var requestTimeout: Int?

    @Option(help: "Seconds a kept-alive HTTP connection may wait for its next request. (PARLEY_IDLE_TIMEOUT; default 60)")
    var idleTimeout: Int?

    @Option(help: "The largest HTTP request header block in bytes; larger ones are answered 431. (PARLEY_MAX_HEADER_BYTES; default 16384)")
    var maxHeaderBytes: Int?

    @Option(help: "Seconds a shutdown waits for clients to close. (PARLEY_DRAIN_TIMEOUT; default 10)")
    var drainTimeout: Int?

    @Option(help: "A folder of static files served at / instead of the built-in web client, e.g. web/dist while working on it. (PARLEY_WEB_ROOT)")
    var webRoot: String?

    @Option(help: "What plain-mode clients receive before each message. (PARLEY_PLAIN_PREFIX; default \"Mensagem recebida: \")")
    var plainPrefix: String?

    @Option(
        help:
            "What plain-mode clients receive when another plain client leaves. (PARLEY_PLAIN_DISCONNECT_NOTICE; default \"Um cliente desconectou.\")"
    )
    var plainDisconnectNotice: String?

    @Option(
        help:
            "on: a hello without credentials joins as a guest; off: only signed-in users (and plain-mode clients that authenticate at the upgrade). (PARLEY_GUESTS; default on)"
    )
    var guests: String?

    @Option(
        help: "open: anyone may create an account with POST /api/v1/accounts; closed: only `parley users add`. (PARLEY_REGISTRATION; default open)"
    )
    var registration: String?

    @Option(help: "Days a session token of Parley's own is valid; fractions allowed. (PARLEY_SESSION_DAYS; default 30)")
    var sessionDays: Double?

    @Option(help: "bcrypt's work factor for passwords, 4–16; each step doubles the time a sign-in takes. (PARLEY_PASSWORD_COST; default 12)")
    var passwordCost: Int?

    @Option(
        help:
            "A key JWTs from your application are signed with: a PEM public key (RS256, ES256, EdDSA) or a file holding an HS256 secret of 32 bytes or more; repeatable. (PARLEY_JWT_KEYS, comma-separated)"
    )
    var jwtKey: [String] = []

    @Option(help: "The iss every JWT must carry. (PARLEY_JWT_ISSUER)")
    var jwtIssuer: String?

    @Option(help: "The aud every JWT must include. (PARLEY_JWT_AUDIENCE)")
    var jwtAudience: String?

    @Option(help: "A PEM certificate chain to serve HTTPS and WSS with on the same port; needs --tls-key. SIGHUP reads it again. (PARLEY_TLS_CERT)")
    var tlsCert: String?

    @Option(help: "The PEM private key of --tls-cert. (PARLEY_TLS_KEY)")
    var tlsKey: String?

    @Option(help: "trace, debug, info, notice, warning, error or critical. (PARLEY_LOG_LEVEL; default info)")
    var logLevel: String?

    @Option(help: "text, or json for one JSON object per line (for log shippers). (PARLEY_LOG_FORMAT; default text)")
    var logFormat: String?

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let configuration: ServerConfiguration
        let json: Bool
        do {
            configuration = try makeConfiguration(environment: environment)
            json = try Settings(environment: environment).logFormatIsJSON(logFormat)
        } catch let error as ConfigurationError {
            throw ValidationError(error.message)
        }
        let level = configuration.logLevel
        LoggingSystem.bootstrap { label in
            var handler: any LogHandler = json ? JSONLogHandler(label: label) : StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "parley")
        // SIGHUP asks for a reload (the server answers it once running); until then it must not end the process.
        signal(SIGHUP, SIG_IGN)
        if let (before, after) = OpenFileLimit.raiseToHardLimit() {
            logger.info("open file limit raised to the hard limit", metadata: ["was": "\(before)", "now": "\(after)"])
        } else {
            logger.warning("could not raise the open file limit; connections may be refused early")
        }
        let server: ParleyServer
        do {
            server = try await ParleyServer(configuration: configuration, logger: logger)
        } catch {
            FileHandle.standardError.write(Data("parley: \(error)\n".utf8))
            throw ExitCode(1)
        }
        try await server.run { address in
            FileHandle.standardOutput.write(Data("listening on \(address)\n".utf8))
        }
    }

    /// Merges options, environment variables and defaults, validating each value.
    func makeConfiguration(environment: [String: String]) throws -> ServerConfiguration {
        let settings = Settings(environment: environment)
        var configuration = ServerConfiguration()
        configuration.host = try settings.string(host, "--host", "PARLEY_HOST") ?? configuration.host
        configuration.port = try settings.integer(port, "--port", "PARLEY_PORT", in: 0...65535) ?? configuration.port
        if let database = try settings.string(db, "--db", "PARLEY_DB") {
            if PostgresLocation.isPostgresURL(database) {
                do {
                    configuration.postgres = try PostgresLocation(url: database, environment: environment)
                } catch let error as PostgresLocationError {
                    throw ConfigurationError("--db: \(error)")
                }
            } else {
                configuration.databasePath = database
            }
        }
        if let seconds = try settings.integer(nodeTimeout, "--node-timeout", "PARLEY_NODE_TIMEOUT", in: 3...3600) {
            configuration.nodeTimeout = .seconds(seconds)
        }
        var limits = configuration.limits
        limits.maxTextBytes =
            try settings.integer(maxTextBytes, "--max-text-bytes", "PARLEY_MAX_TEXT_BYTES", in: 1...(16 << 20)) ?? limits.maxTextBytes
        limits.maxFrameBytes =
            try settings.integer(maxFrameBytes, "--max-frame-bytes", "PARLEY_MAX_FRAME_BYTES", in: 1024...(64 << 20)) ?? limits.maxFrameBytes
        if let rate = try settings.string(rateLimit, "--rate-limit", "PARLEY_RATE_LIMIT") {
            (limits.commandsPerSecond, limits.commandBurst) = try Settings.rateLimit(rate, "--rate-limit")
        }
        limits.maxJoinedRooms =
            try settings.integer(maxJoinedRooms, "--max-joined-rooms", "PARLEY_MAX_JOINED_ROOMS", in: 1...100_000) ?? limits.maxJoinedRooms
        limits.presenceListLimit =
            try settings.integer(presenceListLimit, "--presence-list-limit", "PARLEY_PRESENCE_LIST_LIMIT", in: 1...1_000_000)
            ?? limits.presenceListLimit
        limits.outboxBytes = try settings.integer(outboxBytes, "--outbox-bytes", "PARLEY_OUTBOX_BYTES", in: 1024...(1 << 30)) ?? limits.outboxBytes
        limits.outboxFrames = try settings.integer(outboxFrames, "--outbox-frames", "PARLEY_OUTBOX_FRAMES", in: 1...10_000_000) ?? limits.outboxFrames
        configuration.limits = limits
        configuration.allowedOrigins = allowedOrigin
        if allowedOrigin.isEmpty, let origins = environment["PARLEY_ALLOWED_ORIGINS"] {
            configuration.allowedOrigins = origins.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }
        }
        if let seconds = try settings.integer(pingInterval, "--ping-interval", "PARLEY_PING_INTERVAL", in: 1...3600) {
            configuration.pingInterval = .seconds(seconds)
        }
        if let seconds = try settings.integer(pongTimeout, "--pong-timeout", "PARLEY_PONG_TIMEOUT", in: 1...3600) {
            configuration.pongTimeout = .seconds(seconds)
        }
        configuration.publicHosts = publicHost
        if publicHost.isEmpty, let hosts = environment["PARLEY_PUBLIC_HOSTS"] {
            configuration.publicHosts = hosts.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }
        }
        if let bad = configuration.publicHosts.first(where: { $0.isEmpty || $0.contains("/") || $0.contains(" ") }) {
            throw ConfigurationError("--public-host: \"\(bad)\" is not a host name (e.g. chat.example.com)")
        }
        configuration.addressLimits = try settings.allowance(
            configuration.addressLimits,
            everyRateOff: limits.commandsPerSecond == 0,
            commands: (addressRateLimit, "--address-rate-limit", "PARLEY_ADDRESS_RATE_LIMIT"),
            text: (addressTextRate, "--address-text-rate", "PARLEY_ADDRESS_TEXT_RATE")
        )
        configuration.addressLimits.maxConnections =
            try settings.integer(
                maxConnectionsPerIp,
                "--max-connections-per-ip",
                "PARLEY_MAX_CONNECTIONS_PER_IP",
                in: 0...10_000_000
            ) ?? configuration.addressLimits.maxConnections
        configuration.userLimits = try settings.allowance(
            configuration.userLimits,
            everyRateOff: limits.commandsPerSecond == 0,
            commands: (userRateLimit, "--user-rate-limit", "PARLEY_USER_RATE_LIMIT"),
            text: (userTextRate, "--user-text-rate", "PARLEY_USER_TEXT_RATE")
        )
        configuration.maxConnections = try settings.integer(maxConnections, "--max-connections", "PARLEY_MAX_CONNECTIONS", in: 1...100_000_000)
        if let seconds = try settings.integer(requestTimeout, "--request-timeout", "PARLEY_REQUEST_TIMEOUT", in: 1...3600) {
            configuration.requestTimeout = .seconds(seconds)
        }
        if let seconds = try settings.integer(idleTimeout, "--idle-timeout", "PARLEY_IDLE_TIMEOUT", in: 1...86400) {
            configuration.idleTimeout = .seconds(seconds)
        }
        configuration.maxHeaderBytes =
            try settings.integer(
                maxHeaderBytes,
                "--max-header-bytes",
                "PARLEY_MAX_HEADER_BYTES",
                in: 1024...(1 << 20)
            ) ?? configuration.maxHeaderBytes
        if let seconds = try settings.integer(drainTimeout, "--drain-timeout", "PARLEY_DRAIN_TIMEOUT", in: 0...3600) {
            configuration.drainTimeout = .seconds(seconds)
        }
        if let folder = try settings.string(webRoot, "--web-root", "PARLEY_WEB_ROOT") {
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder), isFolder.boolValue else {
                throw ConfigurationError("--web-root: \(folder) is not a folder")
            }
            configuration.webRoot = folder
        }
        configuration.plainMode.messagePrefix =
            try settings.string(plainPrefix, "--plain-prefix", "PARLEY_PLAIN_PREFIX", allowEmpty: true) ?? configuration.plainMode.messagePrefix
        configuration.plainMode.disconnectNotice =
            try settings.string(plainDisconnectNotice, "--plain-disconnect-notice", "PARLEY_PLAIN_DISCONNECT_NOTICE")
            ?? configuration.plainMode.disconnectNotice
        if let value = try settings.string(guests, "--guests", "PARLEY_GUESTS") {
            configuration.identity.guestsAllowed = try Settings.choice(value, "--guests", ["on": true, "off": false])
        }
        if let value = try settings.string(registration, "--registration", "PARLEY_REGISTRATION") {
            configuration.identity.registrationOpen = try Settings.choice(value, "--registration", ["open": true, "closed": false])
        }
        if let days = try settings.number(sessionDays, "--session-days", "PARLEY_SESSION_DAYS", in: 0.00001...3650) {
            configuration.identity.sessionDuration = .milliseconds(Int64(days * 86_400_000))
        }
        if let cost = try settings.integer(passwordCost, "--password-cost", "PARLEY_PASSWORD_COST", in: 4...16) {
            configuration.passwordCost = UInt8(cost)
        }
        switch (try settings.string(tlsCert, "--tls-cert", "PARLEY_TLS_CERT"), try settings.string(tlsKey, "--tls-key", "PARLEY_TLS_KEY")) {
        case (let certificate?, let key?): configuration.tls = TLSFiles(certificatePath: certificate, keyPath: key)
        case (nil, nil): break
        default: throw ConfigurationError("--tls-cert and --tls-key go together: give both, or neither")
        }
        let keys = jwtKey.isEmpty ? (environment["PARLEY_JWT_KEYS"]?.split(separator: ",").map(String.init) ?? []) : jwtKey
        let issuer = try settings.string(jwtIssuer, "--jwt-issuer", "PARLEY_JWT_ISSUER")
        let audience = try settings.string(jwtAudience, "--jwt-audience", "PARLEY_JWT_AUDIENCE")
        if !keys.isEmpty {
            configuration.jwt = TrustedTokens.Settings(keyFiles: keys, issuer: issuer, audience: audience)
        } else if issuer != nil || audience != nil {
            throw ConfigurationError("--jwt-issuer and --jwt-audience need --jwt-key")
        }
        if let level = try settings.string(logLevel, "--log-level", "PARLEY_LOG_LEVEL") {
            guard let parsed = Logger.Level(rawValue: level.lowercased()) else {
                throw ConfigurationError("--log-level: \"\(level)\" is not one of trace, debug, info, notice, warning, error, critical")
            }
            configuration.logLevel = parsed
        }
        return configuration
    }
}

/// A configuration value that cannot be used; the message names the option and what to fix.
struct ConfigurationError: Error {
    let message: String
    init(_ message: String) { self.message = message }
}

/// Reads an option's value from the command line, else from its environment variable.
struct Settings {
    let environment: [String: String]

    func string(_ option: String?, _ flag: String, _ variable: String, allowEmpty: Bool = false) throws -> String? {
        let (value, source) = option.map { ($0, flag) } ?? (environment[variable].map { ($0, variable) } ?? (nil, flag))
        guard let value else { return nil }
        guard allowEmpty || !value.isEmpty else { throw ConfigurationError("\(source): must not be empty") }
        return value
    }

    func integer(_ option: Int?, _ flag: String, _ variable: String, in range: ClosedRange<Int>) throws -> Int? {
        if let option {
            guard range.contains(option) else { throw ConfigurationError("\(flag): \(option) is outside \(range.lowerBound)…\(range.upperBound)") }
            return option
        }
        guard let text = environment[variable] else { return nil }
        guard let value = Int(text.trimmingCharacters(in: .whitespaces)) else {
            throw ConfigurationError("\(variable): \"\(text)\" is not a whole number")
        }
        guard range.contains(value) else { throw ConfigurationError("\(variable): \(value) is outside \(range.lowerBound)…\(range.upperBound)") }
        return value
    }

    func number(_ option: Double?, _ flag: String, _ variable: String, in range: ClosedRange<Double>) throws -> Double? {
        let (value, source): (Double?, String)
        if let option {
            (value, source) = (option, flag)
        } else if let text = environment[variable] {
            guard let parsed = Double(text.trimmingCharacters(in: .whitespaces)) else {
                throw ConfigurationError("\(variable): \"\(text)\" is not a number")
            }
            (value, source) = (parsed, variable)
        } else {
            return nil
        }
        guard let value, range.contains(value) else {
            throw ConfigurationError(
                "\(source): \(Self.written(value ?? 0)) is outside \(Self.written(range.lowerBound))…\(Self.written(range.upperBound))"
            )
        }
        return value
    }

    /// A number as a person writes it: `30`, `0.5`, `0.00001` (not `30.0` or `1e-05`).
    private static func written(_ number: Double) -> String {
        if number == number.rounded(), abs(number) < 1e15 { return String(Int(number)) }
        var text = String(format: "%.6f", number)
        while text.hasSuffix("0") { text.removeLast() }
        return text
    }

    /// Limits shared by a holder's connections: `--rate-limit 0` (`everyRateOff`) turns them off unless their own
    /// options are given.
    func allowance(
        _ defaults: AllowanceLimits,
        everyRateOff: Bool,
        commands: (String?, String, String),
        text: (String?, String, String)
    ) throws -> AllowanceLimits {
        var limits = defaults
        if everyRateOff {
            limits.commandsPerSecond = 0
            limits.storedBytesPerSecond = 0
        }
        if let rate = try string(commands.0, commands.1, commands.2) {
            (limits.commandsPerSecond, limits.commandBurst) = try Self.rateLimit(rate, commands.1)
        }
        if let rate = try string(text.0, text.1, text.2) {
            let (bytes, burst) = try Self.rateLimit(rate, text.1)
            limits.storedBytesPerSecond = Int(bytes)
            limits.storedBytesBurst = burst
        }
        return limits
    }

    /// One of a fixed set of words.
    static func choice<Value>(_ text: String, _ flag: String, _ choices: [String: Value]) throws -> Value {
        guard let value = choices[text.lowercased()] else {
            throw ConfigurationError("\(flag): \"\(text)\" is not one of \(choices.keys.sorted().joined(separator: ", "))")
        }
        return value
    }

    /// Whether `--log-format` (or `PARLEY_LOG_FORMAT`) asks for JSON lines.
    func logFormatIsJSON(_ option: String?) throws -> Bool {
        switch try string(option, "--log-format", "PARLEY_LOG_FORMAT")?.lowercased() {
        case nil, "text": return false
        case "json": return true
        case let other?: throw ConfigurationError("--log-format: \"\(other)\" is not text or json")
        }
    }

    /// Parses `PER_SECOND:BURST` (or `0` for no limit) given to `flag`.
    static func rateLimit(_ text: String, _ flag: String) throws -> (Double, Int) {
        if text.trimmingCharacters(in: .whitespaces) == "0" { return (0, 1) }
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let rate = Double(parts[0]), rate > 0, rate.isFinite, let burst = Int(parts[1]), burst >= 1 else {
            throw ConfigurationError("\(flag): \"\(text)\" is not PER_SECOND:BURST (e.g. 10:100) or 0 to turn it off")
        }
        return (rate, burst)
    }
}

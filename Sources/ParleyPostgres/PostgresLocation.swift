import Foundation
import NIOSSL
import PostgresNIO

/// Where a PostgreSQL database is, parsed from a `postgres://user:password@host:5432/name?sslmode=require` URL.
///
/// The password comes from the URL or, when the URL has none, from `PGPASSWORD`. ``description`` never shows it.
public struct PostgresLocation: Sendable, CustomStringConvertible {
    /// The server's host name or address.
    public var host: String
    /// The server's port.
    public var port: Int
    /// The role to connect as.
    public var username: String
    /// The role's password, if it needs one.
    public var password: String?
    /// The database name.
    public var database: String
    /// Whether to use TLS (verifying the server's certificate against the system's trust roots).
    public var requiresTLS: Bool

    /// Whether `text` names a PostgreSQL database rather than a SQLite file.
    public static func isPostgresURL(_ text: String) -> Bool {
        text.hasPrefix("postgres://") || text.hasPrefix("postgresql://")
    }

    /// Parses a `postgres://` or `postgresql://` URL.
    /// - Throws: `PostgresLocationError` saying what is wrong with it.
    public init(url text: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        guard Self.isPostgresURL(text), let components = URLComponents(string: text) else {
            throw PostgresLocationError("is not a postgres://user@host:5432/name URL")
        }
        guard let host = components.host, !host.isEmpty else {
            throw PostgresLocationError("names no host (postgres://user@host:5432/name)")
        }
        guard let username = components.user, !username.isEmpty else {
            throw PostgresLocationError("names no user (postgres://user@host:5432/name)")
        }
        let database = String(components.path.drop(while: { $0 == "/" }))
        guard !database.isEmpty, !database.contains("/") else {
            throw PostgresLocationError("names no database (postgres://user@host:5432/name)")
        }
        var requiresTLS = false
        for item in components.queryItems ?? [] {
            switch (item.name, item.value) {
            case ("sslmode", "disable"): requiresTLS = false
            case ("sslmode", "require"), ("sslmode", "verify-full"): requiresTLS = true
            case ("sslmode", let other): throw PostgresLocationError("sslmode=\(other ?? "") is not disable, require or verify-full")
            case (let name, _): throw PostgresLocationError("has an unknown parameter \(name) (only sslmode is understood)")
            }
        }
        self.host = host
        self.port = components.port ?? 5432
        self.username = username.removingPercentEncoding ?? username
        self.password = components.password.map { $0.removingPercentEncoding ?? $0 } ?? environment["PGPASSWORD"]
        self.database = database.removingPercentEncoding ?? database
        self.requiresTLS = requiresTLS
    }

    /// The URL without its password, for messages and logs.
    public var description: String {
        let shownHost = host.contains(":") ? "[\(host)]" : host
        return "postgres://\(username)@\(shownHost):\(port)/\(database)" + (requiresTLS ? "?sslmode=require" : "")
    }

    /// The configuration of one direct connection to this database.
    package func connectionConfiguration() throws -> PostgresConnection.Configuration {
        PostgresConnection.Configuration(
            host: host,
            port: port,
            username: username,
            password: password,
            database: database,
            tls: requiresTLS ? .require(try NIOSSLContext(configuration: .makeClientConfiguration())) : .disable
        )
    }

    /// The client configuration for this database.
    var clientConfiguration: PostgresClient.Configuration {
        var configuration = PostgresClient.Configuration(
            host: host,
            port: port,
            username: username,
            password: password,
            database: database,
            tls: requiresTLS ? .require(.makeClientConfiguration()) : .disable
        )
        configuration.options.connectTimeout = .seconds(5)
        configuration.options.maximumConnections = 8
        configuration.options.additionalStartupParameters = [("application_name", "parley")]
        return configuration
    }
}

/// A `--db` URL that cannot be used; the message says what to fix.
public struct PostgresLocationError: Error, CustomStringConvertible {
    /// What is wrong, completing "the --db URL …".
    public let problem: String

    init(_ problem: String) { self.problem = problem }

    public var description: String { "the PostgreSQL URL \(problem)" }
}

import Foundation
import Logging
import ParleyPostgres
import PostgresNIO

/// Fresh databases for tests: a SQLite file in a folder of its own, or a database of its own on the PostgreSQL
/// server `scripts/test.sh` starts (named by `PARLEY_TEST_POSTGRES`).
package enum TemporaryDatabases {
    /// The PostgreSQL server tests may create databases on, if there is one.
    package static let postgresServer = ProcessInfo.processInfo.environment["PARLEY_TEST_POSTGRES"]

    /// A path for a new SQLite file, in a new temporary folder.
    package static func sqlitePath() throws -> String {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("parley-sqlite-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return folder.appendingPathComponent("history.sqlite").path
    }

    /// Creates a database on ``postgresServer``, runs `body` with its location, then drops it (whatever `body` did).
    package static func withPostgresDatabase<Result>(_ body: (PostgresLocation) async throws -> Result) async throws -> Result {
        guard let postgresServer else { throw MissingServer() }
        let admin = try PostgresLocation(url: postgresServer)
        let name = "parley_swift_\(UUID().uuidString.prefix(8).lowercased())"
        try await execute("CREATE DATABASE \(name)", on: admin)
        var location = admin
        location.database = name
        do {
            let result = try await body(location)
            try await execute("DROP DATABASE \(name) WITH (FORCE)", on: admin)
            return result
        } catch {
            try? await execute("DROP DATABASE \(name) WITH (FORCE)", on: admin)
            throw error
        }
    }

    /// Thrown when a test asks for PostgreSQL where there is none.
    package struct MissingServer: Error, CustomStringConvertible {
        package var description: String { "PARLEY_TEST_POSTGRES is not set; scripts/test.sh sets it" }
    }

    /// Runs one SQL statement on `location` over a connection of its own.
    package static func execute(_ sql: String, on location: PostgresLocation) async throws {
        let logger = Logger(label: "parley-testing")
        let connection = try await PostgresConnection.connect(configuration: try location.connectionConfiguration(), id: 1, logger: logger)
        _ = try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger).collect()
        try await connection.close()
    }
}

import Logging
import PostgresNIO

/// The PostgreSQL schema, one migration per version, applied at start by whichever node gets there first.
enum PostgresSchema {
    struct Migration {
        var version: Int
        var name: String
        var statements: [String]
    }

    static let migrations = [
        Migration(
            version: 1,
            name: "messages, rooms, nodes, presence",
            statements: [
                """
                CREATE TABLE parley_rooms (
                    room text PRIMARY KEY,
                    head bigint NOT NULL DEFAULT 0 CHECK (head >= 0)
                )
                """,
                """
                CREATE TABLE parley_messages (
                    room text NOT NULL,
                    room_offset bigint NOT NULL CHECK (room_offset >= 1),
                    sender text NOT NULL,
                    client_id text NOT NULL,
                    text text NOT NULL,
                    stored_at bigint NOT NULL,
                    PRIMARY KEY (room, room_offset),
                    UNIQUE (room, sender, client_id)
                )
                """,
                """
                CREATE TABLE parley_nodes (
                    node_id text PRIMARY KEY,
                    started_at timestamptz NOT NULL DEFAULT now(),
                    heartbeat_at timestamptz NOT NULL DEFAULT now()
                )
                """,
                """
                CREATE TABLE parley_presence (
                    node_id text NOT NULL REFERENCES parley_nodes ON DELETE CASCADE,
                    room text NOT NULL,
                    name text NOT NULL,
                    PRIMARY KEY (node_id, room, name)
                )
                """,
            ]
        ),
        Migration(
            version: 2,
            name: "sender and presence by user id",
            statements: [
                // Until there were users, every sender was a guest: the same name was the same guest.
                "ALTER TABLE parley_messages ADD COLUMN sender_id text",
                "UPDATE parley_messages SET sender_id = 'guest:' || sender",
                "ALTER TABLE parley_messages ALTER COLUMN sender_id SET NOT NULL",
                "ALTER TABLE parley_messages DROP CONSTRAINT parley_messages_room_sender_client_id_key",
                "ALTER TABLE parley_messages ADD CONSTRAINT parley_messages_room_sender_id_client_id_key UNIQUE (room, sender_id, client_id)",
                // Presence rows only live as long as their node: nodes restate theirs after the migration.
                "DELETE FROM parley_presence",
                "ALTER TABLE parley_presence ADD COLUMN user_id text NOT NULL",
                "ALTER TABLE parley_presence DROP CONSTRAINT parley_presence_pkey",
                "ALTER TABLE parley_presence ADD PRIMARY KEY (node_id, room, user_id)",
            ]
        ),
        Migration(version: 3, name: "accounts and sessions", statements: PostgresAccountStore.migrationStatements),
        Migration(version: 4, name: "rooms and moderation", statements: PostgresRoomStore.migrationStatements),
        Migration(version: 5, name: "api keys", statements: PostgresAccountStore.keyMigrationStatements),
        Migration(version: 6, name: "a batch in one call", statements: [PostgresAppendProcedure.definition]),
    ]

    /// The oldest PostgreSQL a node works with: `parley_append` is a procedure with `OUT` parameters (14).
    static let oldestServerVersion = 140_000

    /// Applies the migrations the database lacks, in one transaction under an advisory lock (nodes starting
    /// together wait for each other). Refuses a database migrated by a newer Parley, and a server older than
    /// ``oldestServerVersion``.
    /// Refuses a server older than ``oldestServerVersion`` (`version` as PostgreSQL's `server_version_num`).
    static func checkServerVersion(_ version: Int) throws(SchemaError) {
        guard version >= oldestServerVersion else { throw .serverTooOld(version: version) }
    }

    /// What to tell the operator of a server whose settings let a crash of it lose committed transactions: an `ack`
    /// then no longer means the message survives one. Empty when `fsync` and `synchronous_commit` (as this database
    /// sees them) are on.
    static func durabilityWarnings(_ client: PostgresClient, logger: Logger) async throws -> [String] {
        var warnings: [String] = []
        let settings = try await client.query(
            "SELECT current_setting('fsync'), current_setting('synchronous_commit')",
            logger: logger
        ).decode((String, String).self)
        for try await (fsync, synchronousCommit) in settings {
            if fsync == "off" {
                warnings.append("PostgreSQL's fsync is off: a crash of the database server can lose acknowledged messages; turn it on")
            }
            if synchronousCommit == "off" {
                warnings.append(
                    "PostgreSQL's synchronous_commit is off for this database: a crash of the database server can lose acknowledged messages; set it to on"
                )
            }
        }
        return warnings
    }

    static func migrate(_ client: PostgresClient, logger: Logger) async throws {
        for try await version in try await client.query("SELECT current_setting('server_version_num')::int", logger: logger).decode(Int.self) {
            try checkServerVersion(version)
        }
        try await client.withTransaction(logger: logger) { connection in
            try await connection.query("SELECT pg_advisory_xact_lock(\(lockKey))", logger: logger).drain()
            try await connection.query(
                """
                CREATE TABLE IF NOT EXISTS parley_migrations (
                    version integer PRIMARY KEY,
                    name text NOT NULL,
                    applied_at timestamptz NOT NULL DEFAULT now()
                )
                """,
                logger: logger
            ).drain()
            var applied: Set<Int> = []
            for try await version in try await connection.query("SELECT version FROM parley_migrations", logger: logger).decode(Int.self) {
                applied.insert(version)
            }
            if let newest = applied.max(), newest > migrations.last!.version {
                throw SchemaError.newerThanThisBuild(version: newest)
            }
            for migration in migrations where !applied.contains(migration.version) {
                for statement in migration.statements {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger).drain()
                }
                try await connection.query(
                    "INSERT INTO parley_migrations (version, name) VALUES (\(migration.version), \(migration.name))",
                    logger: logger
                ).drain()
                logger.info("migrated the database", metadata: ["version": "\(migration.version)", "name": "\(migration.name)"])
            }
        }
    }

    /// The advisory lock that serialises migrations ("parley" in ASCII).
    static let lockKey: Int64 = 0x70_61_72_6C_65_79

    enum SchemaError: Error, CustomStringConvertible {
        case newerThanThisBuild(version: Int)
        case serverTooOld(version: Int)

        var description: String {
            switch self {
            case .newerThanThisBuild(let version):
                "the database schema is at version \(version), newer than this build knows; run a newer parley"
            case .serverTooOld(let version):
                "PostgreSQL \(version / 10_000).\(version % 10_000) is too old: Parley needs PostgreSQL 14 or newer"
            }
        }
    }
}

import Logging
import ParleyCore
import ParleyProtocol
import PostgresNIO

/// Rooms, memberships, roles, bans, the users the cluster knows and its access events, in the PostgreSQL database
/// the nodes share (``PostgresSchema``'s migration 4): a kick, a ban or an invitation on one node is recorded with
/// its access event in one transaction, and every other node applies the event when it next polls.
package final class PostgresRoomStore: RoomStore {
    private let database: PostgresStatements
    private let now: @Sendable () -> Int64

    init(client: PostgresClient, location: String, logger: Logger, now: @escaping @Sendable () -> Int64) {
        self.database = PostgresStatements(client: client, location: location, logger: logger)
        self.now = now
    }

    /// Rooms that have history (and so a row in `parley_rooms`) become public rooms without an owner.
    static let migrationStatements = [
        "ALTER TABLE parley_rooms ADD COLUMN kind text NOT NULL DEFAULT 'room' CHECK (kind IN ('room', 'dm'))",
        "ALTER TABLE parley_rooms ADD COLUMN visibility text NOT NULL DEFAULT 'public' CHECK (visibility IN ('public', 'private'))",
        """
        CREATE TABLE parley_room_members (
            room text NOT NULL,
            user_id text NOT NULL,
            role text NOT NULL CHECK (role IN ('owner', 'moderator', 'member')),
            PRIMARY KEY (room, user_id)
        )
        """,
        "CREATE INDEX parley_room_members_user ON parley_room_members (user_id)",
        """
        CREATE TABLE parley_room_bans (
            room text NOT NULL,
            user_id text NOT NULL,
            by text NOT NULL,
            at bigint NOT NULL,
            PRIMARY KEY (room, user_id)
        )
        """,
        "CREATE TABLE parley_server_bans (user_id text PRIMARY KEY, by text NOT NULL, at bigint NOT NULL)",
        "CREATE TABLE parley_known_users (id text PRIMARY KEY, name text NOT NULL)",
        """
        CREATE TABLE parley_access_events (
            id bigserial PRIMARY KEY,
            kind text NOT NULL CHECK (kind IN ('kicked', 'banned', 'invited', 'server_ban')),
            room text,
            user_id text NOT NULL,
            by text,
            origin text NOT NULL,
            at bigint NOT NULL
        )
        """,
        "ALTER TABLE parley_messages ADD COLUMN target bigint",
        "ALTER TABLE parley_messages ADD COLUMN deleted boolean NOT NULL DEFAULT false",
    ]

    package func room(_ name: String) async throws -> RoomRecord? {
        try await database.rows("SELECT kind, visibility FROM parley_rooms WHERE room = \(name)", as: (String, String).self).first.map {
            RoomRecord(room: name, kind: RoomKind(rawValue: $0.0) ?? .room, visibility: RoomVisibility(rawValue: $0.1) ?? .public)
        }
    }

    package func createRoom(_ record: RoomRecord, members: [String: RoomRole]) async throws -> Bool {
        try await database.transaction { connection, logger in
            let inserted = try await connection.query(
                """
                INSERT INTO parley_rooms (room, kind, visibility) VALUES (\(record.room), \(record.kind.rawValue), \(record.visibility.rawValue))
                ON CONFLICT (room) DO NOTHING RETURNING room
                """,
                logger: logger
            ).collect()
            guard !inserted.isEmpty else { return false }
            for (userID, role) in members {
                try await connection.query(
                    "INSERT INTO parley_room_members (room, user_id, role) VALUES (\(record.room), \(userID), \(role.rawValue))",
                    logger: logger
                ).drain()
            }
            return true
        }
    }

    package func role(of userID: String, in room: String) async throws -> RoomRole? {
        try await database.rows("SELECT role FROM parley_room_members WHERE room = \(room) AND user_id = \(userID)", as: String.self)
            .first.flatMap(RoomRole.init(rawValue:))
    }

    package func setRole(_ role: RoomRole, of userID: String, in room: String) async throws {
        _ = try await database.rows(
            """
            INSERT INTO parley_room_members (room, user_id, role) VALUES (\(room), \(userID), \(role.rawValue))
            ON CONFLICT (room, user_id) DO UPDATE SET role = excluded.role RETURNING room
            """,
            as: String.self
        )
    }

    /// One round trip instead of three: a join waits for it.
    package func entry(to room: String, for userID: String) async throws -> RoomEntry {
        let row = try await database.rows(
            """
            SELECT r.kind, r.visibility,
                EXISTS (SELECT 1 FROM parley_room_bans WHERE room = \(room) AND user_id = \(userID)),
                (SELECT role FROM parley_room_members WHERE room = \(room) AND user_id = \(userID))
            FROM (SELECT 1) AS one LEFT JOIN parley_rooms r ON r.room = \(room)
            """,
            as: (String?, String?, Bool, String?).self
        ).first
        let record = row.flatMap { row in
            row.0.map { kind in
                RoomRecord(room: room, kind: RoomKind(rawValue: kind) ?? .room, visibility: RoomVisibility(rawValue: row.1 ?? "") ?? .public)
            }
        }
        return RoomEntry(record: record, banned: row?.2 ?? false, role: row?.3.flatMap(RoomRole.init(rawValue:)))
    }

    package func isBanned(_ userID: String, from room: String) async throws -> Bool {
        try await !database.rows("SELECT room FROM parley_room_bans WHERE room = \(room) AND user_id = \(userID)", as: String.self).isEmpty
    }

    package func remove(_ userID: String, from room: String, ban: Bool, by: String, origin: String) async throws {
        let at = now()
        try await database.transaction { connection, logger in
            try await connection.query("DELETE FROM parley_room_members WHERE room = \(room) AND user_id = \(userID)", logger: logger)
                .drain()
            if ban {
                try await connection.query(
                    """
                    INSERT INTO parley_room_bans (room, user_id, by, at) VALUES (\(room), \(userID), \(by), \(at))
                    ON CONFLICT (room, user_id) DO UPDATE SET by = excluded.by, at = excluded.at
                    """,
                    logger: logger
                ).drain()
            }
            try await Self.record(
                ban ? "banned" : "kicked",
                room: room,
                userID: userID,
                by: by,
                origin: origin,
                at: at,
                on: connection,
                logger: logger
            )
        }
    }

    package func unban(_ userID: String, from room: String) async throws {
        _ = try await database.rows("DELETE FROM parley_room_bans WHERE room = \(room) AND user_id = \(userID) RETURNING room", as: String.self)
    }

    package func invite(_ userID: String, to room: String, by: String, origin: String) async throws {
        let at = now()
        try await database.transaction { connection, logger in
            try await connection.query(
                "INSERT INTO parley_room_members (room, user_id, role) VALUES (\(room), \(userID), 'member') ON CONFLICT DO NOTHING",
                logger: logger
            ).drain()
            try await Self.record("invited", room: room, userID: userID, by: by, origin: origin, at: at, on: connection, logger: logger)
        }
    }

    package func isBannedFromServer(_ userID: String) async throws -> Bool {
        try await !database.rows("SELECT user_id FROM parley_server_bans WHERE user_id = \(userID)", as: String.self).isEmpty
    }

    package func setBannedFromServer(_ banned: Bool, userID: String, by: String, origin: String) async throws {
        let at = now()
        try await database.transaction { connection, logger in
            guard banned else {
                try await connection.query("DELETE FROM parley_server_bans WHERE user_id = \(userID)", logger: logger).drain()
                return
            }
            try await connection.query(
                """
                INSERT INTO parley_server_bans (user_id, by, at) VALUES (\(userID), \(by), \(at))
                ON CONFLICT (user_id) DO UPDATE SET by = excluded.by, at = excluded.at
                """,
                logger: logger
            ).drain()
            try await Self.record("server_ban", room: nil, userID: userID, by: by, origin: origin, at: at, on: connection, logger: logger)
        }
    }

    package func rooms(of userID: String) async throws -> [RoomSummary] {
        try await database.rows(
            """
            SELECT parley_rooms.room, parley_rooms.kind, parley_rooms.visibility, parley_rooms.head,
                (SELECT COUNT(*) FROM parley_room_members everyone WHERE everyone.room = parley_rooms.room)::int8,
                mine.role, peer.user_id, COALESCE(parley_users.name, parley_known_users.name, peer.user_id)
            FROM parley_rooms
            LEFT JOIN parley_room_members mine ON mine.room = parley_rooms.room AND mine.user_id = \(userID)
            LEFT JOIN parley_room_members peer
                ON parley_rooms.kind = 'dm' AND peer.room = parley_rooms.room AND peer.user_id <> \(userID)
            LEFT JOIN parley_users ON parley_users.id = peer.user_id
            LEFT JOIN parley_known_users ON parley_known_users.id = peer.user_id
            WHERE mine.role IS NOT NULL OR parley_rooms.visibility = 'public'
            ORDER BY parley_rooms.room
            """,
            as: (String, String, String, Int64, Int64, String?, String?, String?).self
        ).map { row in
            RoomSummary(
                room: row.0,
                kind: RoomKind(rawValue: row.1) ?? .room,
                visibility: RoomVisibility(rawValue: row.2) ?? .public,
                head: row.3,
                members: Int(row.4),
                role: row.5.flatMap(RoomRole.init(rawValue:)),
                peer: row.6.map { UserRef(id: $0, name: row.7 ?? $0) }
            )
        }
    }

    package func peer(of userID: String, in room: String) async throws -> String? {
        try await database.rows(
            """
            SELECT peer.user_id FROM parley_rooms
            JOIN parley_room_members mine ON mine.room = parley_rooms.room AND mine.user_id = \(userID)
            JOIN parley_room_members peer ON peer.room = parley_rooms.room AND peer.user_id <> \(userID)
            WHERE parley_rooms.room = \(room) AND parley_rooms.kind = 'dm'
            """,
            as: String.self
        ).first
    }

    package func knownUser(_ id: String) async throws -> UserRef? {
        try await database.rows(
            """
            SELECT name FROM parley_users WHERE id = \(id) AND NOT disabled
            UNION ALL SELECT name FROM parley_known_users WHERE id = \(id)
            LIMIT 1
            """,
            as: String.self
        ).first.map { UserRef(id: id, name: $0) }
    }

    package func rememberUser(_ user: UserRef) async throws {
        _ = try await database.rows(
            """
            INSERT INTO parley_known_users (id, name) VALUES (\(user.id), \(user.name))
            ON CONFLICT (id) DO UPDATE SET name = excluded.name WHERE parley_known_users.name <> excluded.name
            RETURNING id
            """,
            as: String.self
        )
    }

    package func accessEvents(after id: Int64) async throws -> [(id: Int64, origin: String, event: AccessEvent)] {
        try await database.rows(
            "SELECT id, kind, room, user_id, by, origin FROM parley_access_events WHERE id > \(id) ORDER BY id",
            as: (Int64, String, String?, String, String?, String).self
        ).compactMap { row in
            let event: AccessEvent
            switch row.1 {
            case "kicked": event = .removed(room: row.2 ?? "", userID: row.3, reason: .kicked)
            case "banned": event = .removed(room: row.2 ?? "", userID: row.3, reason: .banned)
            case "invited": event = .invited(room: row.2 ?? "", userID: row.3, by: row.4 ?? "")
            case "server_ban": event = .bannedFromServer(userID: row.3)
            default: return nil
            }
            return (row.0, row.5, event)
        }
    }

    package func latestAccessEventID() async throws -> Int64 {
        try await database.rows("SELECT COALESCE(MAX(id), 0)::int8 FROM parley_access_events", as: Int64.self).first ?? 0
    }

    /// Records an access event for the other nodes (and drops those older than a day: nodes poll every moment).
    private static func record(
        _ kind: String,
        room: String?,
        userID: String,
        by: String,
        origin: String,
        at: Int64,
        on connection: PostgresConnection,
        logger: Logger
    ) async throws {
        try await connection.query(
            """
            INSERT INTO parley_access_events (kind, room, user_id, by, origin, at)
            VALUES (\(kind), \(room), \(userID), \(by), \(origin), \(at))
            """,
            logger: logger
        ).drain()
        try await connection.query("DELETE FROM parley_access_events WHERE at < \(at - 86_400_000)", logger: logger).drain()
    }
}

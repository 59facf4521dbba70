import GRDB
import ParleyCore
import ParleyProtocol

/// Rooms, memberships, roles, bans, the users the node knows and its access events, in the same SQLite file as its
/// history (tables created by ``SQLiteMessageStore``'s migrations).
package final class SQLiteRoomStore: RoomStore {
    private let pool: DatabasePool
    private let readers: SQLiteReaders
    private let now: @Sendable () -> Int64

    init(pool: DatabasePool, readers: SQLiteReaders, now: @escaping @Sendable () -> Int64) {
        self.pool = pool
        self.readers = readers
        self.now = now
    }

    /// The schema, added to the store's migrator after the account tables. Rooms that have history become public
    /// rooms without an owner; messages gain the deletion columns.
    static func registerMigrations(in migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v5: rooms and moderation") { db in
            try db.execute(
                sql: """
                    CREATE TABLE rooms (
                        room TEXT PRIMARY KEY NOT NULL,
                        kind TEXT NOT NULL CHECK (kind IN ('room', 'dm')),
                        visibility TEXT NOT NULL CHECK (visibility IN ('public', 'private')),
                        created_at INTEGER NOT NULL
                    );
                    INSERT INTO rooms (room, kind, visibility, created_at) SELECT DISTINCT room, 'room', 'public', 0 FROM messages;
                    CREATE TABLE room_members (
                        room TEXT NOT NULL,
                        user_id TEXT NOT NULL,
                        role TEXT NOT NULL CHECK (role IN ('owner', 'moderator', 'member')),
                        PRIMARY KEY (room, user_id)
                    ) WITHOUT ROWID;
                    CREATE INDEX room_members_user ON room_members (user_id);
                    CREATE TABLE room_bans (
                        room TEXT NOT NULL,
                        user_id TEXT NOT NULL,
                        by TEXT NOT NULL,
                        at INTEGER NOT NULL,
                        PRIMARY KEY (room, user_id)
                    ) WITHOUT ROWID;
                    CREATE TABLE server_bans (
                        user_id TEXT PRIMARY KEY NOT NULL,
                        by TEXT NOT NULL,
                        at INTEGER NOT NULL
                    );
                    CREATE TABLE known_users (
                        id TEXT PRIMARY KEY NOT NULL,
                        name TEXT NOT NULL
                    );
                    CREATE TABLE access_events (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        kind TEXT NOT NULL CHECK (kind IN ('kicked', 'banned', 'invited', 'server_ban')),
                        room TEXT,
                        user_id TEXT NOT NULL,
                        by TEXT,
                        origin TEXT NOT NULL,
                        at INTEGER NOT NULL
                    );
                    ALTER TABLE messages ADD COLUMN target INTEGER;
                    ALTER TABLE messages ADD COLUMN deleted INTEGER NOT NULL DEFAULT 0;
                    """
            )
        }
    }

    package func room(_ name: String) async throws -> RoomRecord? {
        try readers.readOneStatement { db in try Self.record(name, in: db) }
    }

    package func createRoom(_ record: RoomRecord, members: [String: RoomRole]) async throws -> Bool {
        let at = now()
        return try await pool.write { db in
            guard try Self.record(record.room, in: db) == nil else { return false }
            try db.execute(
                sql: "INSERT INTO rooms (room, kind, visibility, created_at) VALUES (?, ?, ?, ?)",
                arguments: [record.room, record.kind.rawValue, record.visibility.rawValue, at]
            )
            for (userID, role) in members {
                try db.execute(
                    sql: "INSERT INTO room_members (room, user_id, role) VALUES (?, ?, ?)",
                    arguments: [record.room, userID, role.rawValue]
                )
            }
            return true
        }
    }

    package func role(of userID: String, in room: String) async throws -> RoomRole? {
        try readers.readOneStatement { db in
            try String.fetchOne(db.cachedStatement(sql: "SELECT role FROM room_members WHERE room = ? AND user_id = ?"), arguments: [room, userID])
                .flatMap(RoomRole.init(rawValue:))
        }
    }

    package func setRole(_ role: RoomRole, of userID: String, in room: String) async throws {
        try await pool.write { db in
            try db.execute(
                sql: """
                    INSERT INTO room_members (room, user_id, role) VALUES (?, ?, ?)
                    ON CONFLICT (room, user_id) DO UPDATE SET role = excluded.role
                    """,
                arguments: [room, userID, role.rawValue]
            )
        }
    }

    /// One read on one connection, not three hops to the reader pool: a join waits for it.
    package func entry(to room: String, for userID: String) async throws -> RoomEntry {
        // One statement (one snapshot, no transaction to open): a join reads this for every member.
        let sql = """
            SELECT rooms.kind, rooms.visibility,
                EXISTS (SELECT 1 FROM room_bans WHERE room = :room AND user_id = :user) AS banned,
                (SELECT role FROM room_members WHERE room = :room AND user_id = :user) AS role
            FROM (SELECT 1) LEFT JOIN rooms ON rooms.room = :room
            """
        return try readers.readOneStatement { db in
            let row = try Row.fetchOne(db.cachedStatement(sql: sql), arguments: ["room": room, "user": userID])
            return RoomEntry(
                record: (row?["kind"] as String?).map { kind in
                    RoomRecord(
                        room: room,
                        kind: RoomKind(rawValue: kind) ?? .room,
                        visibility: (row?["visibility"] as String?).flatMap(RoomVisibility.init(rawValue:)) ?? .public
                    )
                },
                banned: row?["banned"] ?? false,
                role: (row?["role"] as String?).flatMap(RoomRole.init(rawValue:))
            )
        }
    }

    package func isBanned(_ userID: String, from room: String) async throws -> Bool {
        try readers.readOneStatement { db in
            try Bool.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM room_bans WHERE room = ? AND user_id = ?"), arguments: [room, userID]) != nil
        }
    }

    package func remove(_ userID: String, from room: String, ban: Bool, by: String, origin: String) async throws {
        let at = now()
        try await pool.write { db in
            try db.execute(sql: "DELETE FROM room_members WHERE room = ? AND user_id = ?", arguments: [room, userID])
            if ban {
                try db.execute(
                    sql: "INSERT OR REPLACE INTO room_bans (room, user_id, by, at) VALUES (?, ?, ?, ?)",
                    arguments: [room, userID, by, at]
                )
            }
            try Self.record(ban ? "banned" : "kicked", room: room, userID: userID, by: by, origin: origin, at: at, in: db)
        }
    }

    package func unban(_ userID: String, from room: String) async throws {
        try await pool.write { db in
            try db.execute(sql: "DELETE FROM room_bans WHERE room = ? AND user_id = ?", arguments: [room, userID])
        }
    }

    package func invite(_ userID: String, to room: String, by: String, origin: String) async throws {
        let at = now()
        try await pool.write { db in
            try db.execute(
                sql: "INSERT OR IGNORE INTO room_members (room, user_id, role) VALUES (?, ?, 'member')",
                arguments: [room, userID]
            )
            try Self.record("invited", room: room, userID: userID, by: by, origin: origin, at: at, in: db)
        }
    }

    package func isBannedFromServer(_ userID: String) async throws -> Bool {
        try readers.readOneStatement { db in
            try Bool.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM server_bans WHERE user_id = ?"), arguments: [userID]) != nil
        }
    }

    package func setBannedFromServer(_ banned: Bool, userID: String, by: String, origin: String) async throws {
        let at = now()
        try await pool.write { db in
            guard banned else {
                try db.execute(sql: "DELETE FROM server_bans WHERE user_id = ?", arguments: [userID])
                return
            }
            try db.execute(
                sql: "INSERT OR REPLACE INTO server_bans (user_id, by, at) VALUES (?, ?, ?)",
                arguments: [userID, by, at]
            )
            try Self.record("server_ban", room: nil, userID: userID, by: by, origin: origin, at: at, in: db)
        }
    }

    package func rooms(of userID: String) async throws -> [RoomSummary] {
        try readers.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT rooms.room, rooms.kind, rooms.visibility, mine.role,
                        (SELECT COUNT(*) FROM room_members everyone WHERE everyone.room = rooms.room) AS members,
                        (SELECT COALESCE(MAX(room_offset), 0) FROM messages WHERE messages.room = rooms.room) AS head,
                        peer.user_id AS peer_id, COALESCE(users.name, known_users.name, peer.user_id) AS peer_name
                    FROM rooms
                    LEFT JOIN room_members mine ON mine.room = rooms.room AND mine.user_id = ?
                    LEFT JOIN room_members peer ON rooms.kind = 'dm' AND peer.room = rooms.room AND peer.user_id <> ?
                    LEFT JOIN users ON users.id = peer.user_id
                    LEFT JOIN known_users ON known_users.id = peer.user_id
                    WHERE mine.role IS NOT NULL OR rooms.visibility = 'public'
                    ORDER BY rooms.room
                    """,
                arguments: [userID, userID]
            ).map { row in
                let peerID: String? = row["peer_id"]
                return RoomSummary(
                    room: row["room"],
                    kind: RoomKind(rawValue: row["kind"]) ?? .room,
                    visibility: RoomVisibility(rawValue: row["visibility"]) ?? .public,
                    head: row["head"],
                    members: row["members"],
                    role: (row["role"] as String?).flatMap(RoomRole.init(rawValue:)),
                    peer: peerID.map { UserRef(id: $0, name: row["peer_name"]) }
                )
            }
        }
    }

    package func peer(of userID: String, in room: String) async throws -> String? {
        try readers.read { db in
            guard try Self.record(room, in: db)?.kind == .dm,
                try Bool.fetchOne(db, sql: "SELECT 1 FROM room_members WHERE room = ? AND user_id = ?", arguments: [room, userID]) != nil
            else { return nil }
            return try String.fetchOne(db, sql: "SELECT user_id FROM room_members WHERE room = ? AND user_id <> ?", arguments: [room, userID])
        }
    }

    package func knownUser(_ id: String) async throws -> UserRef? {
        try readers.read { db in
            let name =
                try String.fetchOne(db, sql: "SELECT name FROM users WHERE id = ? AND disabled = 0", arguments: [id])
                ?? String.fetchOne(db, sql: "SELECT name FROM known_users WHERE id = ?", arguments: [id])
            return name.map { UserRef(id: id, name: $0) }
        }
    }

    package func rememberUser(_ user: UserRef) async throws {
        let known = try readers.read { db in
            try String.fetchOne(db, sql: "SELECT name FROM known_users WHERE id = ?", arguments: [user.id])
        }
        guard known != user.name else { return }
        try await pool.write { db in
            try db.execute(
                sql: "INSERT INTO known_users (id, name) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET name = excluded.name",
                arguments: [user.id, user.name]
            )
        }
    }

    package func accessEvents(after id: Int64) async throws -> [(id: Int64, origin: String, event: AccessEvent)] {
        try readers.read { db in
            try Row.fetchAll(
                db.cachedStatement(sql: "SELECT id, kind, room, user_id, by, origin FROM access_events WHERE id > ? ORDER BY id"),
                arguments: [id]
            )
            .compactMap { row in
                let userID: String = row["user_id"]
                let room: String? = row["room"]
                let event: AccessEvent
                switch row["kind"] as String {
                case "kicked": event = .removed(room: room ?? "", userID: userID, reason: .kicked)
                case "banned": event = .removed(room: room ?? "", userID: userID, reason: .banned)
                case "invited": event = .invited(room: room ?? "", userID: userID, by: row["by"] ?? "")
                case "server_ban": event = .bannedFromServer(userID: userID)
                default: return nil
                }
                return (row["id"], row["origin"], event)
            }
        }
    }

    package func latestAccessEventID() async throws -> Int64 {
        try readers.read { db in try Int64.fetchOne(db, sql: "SELECT COALESCE(MAX(id), 0) FROM access_events") ?? 0 }
    }

    private static func record(_ name: String, in db: Database) throws -> RoomRecord? {
        try Row.fetchOne(db.cachedStatement(sql: "SELECT kind, visibility FROM rooms WHERE room = ?"), arguments: [name]).map { row in
            RoomRecord(
                room: name,
                kind: RoomKind(rawValue: row["kind"]) ?? .room,
                visibility: RoomVisibility(rawValue: row["visibility"]) ?? .public
            )
        }
    }

    /// Records an access event for the other nodes (and drops those older than a day: nodes poll every moment).
    private static func record(
        _ kind: String,
        room: String?,
        userID: String,
        by: String,
        origin: String,
        at: Int64,
        in db: Database
    ) throws {
        try db.execute(
            sql: "INSERT INTO access_events (kind, room, user_id, by, origin, at) VALUES (?, ?, ?, ?, ?, ?)",
            arguments: [kind, room, userID, by, origin, at]
        )
        try db.execute(sql: "DELETE FROM access_events WHERE at < ?", arguments: [at - 86_400_000])
    }
}

import GRDB
import ParleyCore

/// The accounts, sessions and credential events of a single node, in the same SQLite file as its history (tables
/// `users`, `sessions`, `credential_events`, created by ``SQLiteMessageStore``'s migrations).
package final class SQLiteAccountStore: AccountStore {
    private let pool: DatabasePool
    private let readers: SQLiteReaders
    private let now: @Sendable () -> Int64

    init(pool: DatabasePool, readers: SQLiteReaders, now: @escaping @Sendable () -> Int64) {
        self.pool = pool
        self.readers = readers
        self.now = now
    }

    /// The schema, added to the store's migrator after the message tables.
    static func registerMigrations(in migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v4: accounts") { db in
            try db.execute(
                sql: """
                    CREATE TABLE users (
                        id TEXT PRIMARY KEY NOT NULL,
                        name TEXT NOT NULL,
                        folded_name TEXT NOT NULL,
                        password_hash TEXT NOT NULL,
                        admin INTEGER NOT NULL DEFAULT 0,
                        disabled INTEGER NOT NULL DEFAULT 0,
                        created_at INTEGER NOT NULL
                    );
                    CREATE INDEX users_folded_name ON users (folded_name);
                    CREATE TABLE sessions (
                        token_hash TEXT PRIMARY KEY NOT NULL,
                        user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
                        created_at INTEGER NOT NULL,
                        expires_at INTEGER NOT NULL
                    );
                    CREATE INDEX sessions_user_id ON sessions (user_id);
                    CREATE TABLE credential_events (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        kind TEXT NOT NULL CHECK (kind IN ('session', 'account')),
                        subject TEXT NOT NULL,
                        at INTEGER NOT NULL
                    );
                    """
            )
        }
    }

    /// API keys, added after the rooms' tables (migrations run in the order they are registered).
    static func registerKeyMigrations(in migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v6: api keys") { db in
            try db.execute(
                sql: """
                    CREATE TABLE api_keys (
                        name TEXT PRIMARY KEY NOT NULL,
                        key_hash TEXT NOT NULL UNIQUE,
                        scopes TEXT NOT NULL,
                        created_at INTEGER NOT NULL
                    );
                    """
            )
        }
    }

    package func createAccount(_ account: Account, foldedName: String, passwordHash: String) async throws {
        try await pool.write { db in
            guard try Bool.fetchOne(db, sql: "SELECT 1 FROM users WHERE id = ?", arguments: [account.id]) == nil else {
                throw AccountStoreError.userTaken(account.id)
            }
            try db.execute(
                sql: """
                    INSERT INTO users (id, name, folded_name, password_hash, admin, disabled, created_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [account.id, account.name, foldedName, passwordHash, account.admin, account.disabled, account.createdAt]
            )
        }
    }

    package func account(id: String) async throws -> (account: Account, passwordHash: String)? {
        try readers.read { db in
            try Row.fetchOne(db, sql: "SELECT \(Self.columns), password_hash FROM users WHERE id = ?", arguments: [id])
                .map { (Self.account(from: $0), $0["password_hash"]) }
        }
    }

    package func accounts() async throws -> [Account] {
        try readers.read { db in
            try Row.fetchAll(db, sql: "SELECT \(Self.columns) FROM users ORDER BY id").map(Self.account(from:))
        }
    }

    package func isNameTaken(folded: String) async throws -> Bool {
        try readers.readOneStatement { db in
            try Bool.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM users WHERE folded_name = ? OR id = ?"), arguments: [folded, folded]) != nil
        }
    }

    package func setPasswordHash(_ hash: String, forAccount id: String) async throws -> Bool {
        let at = now()
        return try await pool.write { db in
            try db.execute(sql: "UPDATE users SET password_hash = ? WHERE id = ?", arguments: [hash, id])
            guard db.changesCount > 0 else { return false }
            try Self.revokeSessions(ofAccount: id, at: at, in: db)
            return true
        }
    }

    package func setDisabled(_ disabled: Bool, account id: String) async throws -> Bool {
        let at = now()
        return try await pool.write { db in
            try db.execute(sql: "UPDATE users SET disabled = ? WHERE id = ?", arguments: [disabled, id])
            guard db.changesCount > 0 else { return false }
            if disabled { try Self.revokeSessions(ofAccount: id, at: at, in: db) }
            return true
        }
    }

    package func createSession(tokenHash: String, accountID: String, createdAt: Int64, expiresAt: Int64) async throws {
        try await pool.write { db in
            try db.execute(
                sql: "INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
                arguments: [tokenHash, accountID, createdAt, expiresAt]
            )
            // Expired sessions are of no use to anyone: each new one clears its account's.
            try db.execute(sql: "DELETE FROM sessions WHERE user_id = ? AND expires_at <= ?", arguments: [accountID, createdAt])
        }
    }

    package func session(tokenHash: String, now: Int64) async throws -> (account: Account, expiresAt: Int64)? {
        try readers.read { db in
            try Row.fetchOne(
                db,
                sql: """
                    SELECT users.id, users.name, users.admin, users.disabled, users.created_at, sessions.expires_at
                    FROM sessions JOIN users ON users.id = sessions.user_id
                    WHERE sessions.token_hash = ? AND sessions.expires_at > ? AND users.disabled = 0
                    """,
                arguments: [tokenHash, now]
            ).map { (Self.account(from: $0), $0["expires_at"]) }
        }
    }

    package func revokeSession(tokenHash: String) async throws {
        let at = now()
        try await pool.write { db in
            try db.execute(sql: "DELETE FROM sessions WHERE token_hash = ?", arguments: [tokenHash])
            try Self.record("session", tokenHash, at: at, in: db)
        }
    }

    package func credentialEvents(after id: Int64) async throws -> [(id: Int64, event: CredentialEvent)] {
        try readers.read { db in
            try Row.fetchAll(
                db.cachedStatement(sql: "SELECT id, kind, subject FROM credential_events WHERE id > ? ORDER BY id"),
                arguments: [id]
            )
            .map { row in
                let subject: String = row["subject"]
                let kind: String = row["kind"]
                return (row["id"], kind == "session" ? .sessionRevoked(tokenHash: subject) : .accountChanged(userID: subject))
            }
        }
    }

    package func latestCredentialEventID() async throws -> Int64 {
        try readers.read { db in try Int64.fetchOne(db, sql: "SELECT COALESCE(MAX(id), 0) FROM credential_events") ?? 0 }
    }

    package func createAPIKey(_ key: APIKey, hash: String) async throws {
        try await pool.write { db in
            guard try Bool.fetchOne(db, sql: "SELECT 1 FROM api_keys WHERE name = ?", arguments: [key.name]) == nil else {
                throw AccountStoreError.keyTaken(key.name)
            }
            try db.execute(
                sql: "INSERT INTO api_keys (name, key_hash, scopes, created_at) VALUES (?, ?, ?, ?)",
                arguments: [key.name, hash, key.storedScopes, key.createdAt]
            )
        }
    }

    package func apiKey(hash: String) async throws -> APIKey? {
        try readers.read { db in
            try Row.fetchOne(db.cachedStatement(sql: "SELECT name, scopes, created_at FROM api_keys WHERE key_hash = ?"), arguments: [hash])
                .map(Self.apiKey(from:))
        }
    }

    package func apiKeys() async throws -> [APIKey] {
        try readers.read { db in
            try Row.fetchAll(db, sql: "SELECT name, scopes, created_at FROM api_keys ORDER BY name").map(Self.apiKey(from:))
        }
    }

    package func revokeAPIKey(named name: String) async throws -> Bool {
        try await pool.write { db in
            try db.execute(sql: "DELETE FROM api_keys WHERE name = ?", arguments: [name])
            return db.changesCount > 0
        }
    }

    private static func apiKey(from row: Row) -> APIKey {
        APIKey(name: row["name"], scopes: APIKey.scopes(stored: row["scopes"]), createdAt: row["created_at"])
    }

    private static let columns = "id, name, admin, disabled, created_at"

    private static func account(from row: Row) -> Account {
        Account(id: row["id"], name: row["name"], admin: row["admin"], disabled: row["disabled"], createdAt: row["created_at"])
    }

    private static func revokeSessions(ofAccount id: String, at: Int64, in db: Database) throws {
        try db.execute(sql: "DELETE FROM sessions WHERE user_id = ?", arguments: [id])
        try record("account", id, at: at, in: db)
    }

    /// Records a credential event; events older than a day are dropped (a node that was away longer restarts and
    /// reads credentials afresh).
    private static func record(_ kind: String, _ subject: String, at: Int64, in db: Database) throws {
        try db.execute(sql: "INSERT INTO credential_events (kind, subject, at) VALUES (?, ?, ?)", arguments: [kind, subject, at])
        try db.execute(sql: "DELETE FROM credential_events WHERE at < ?", arguments: [at - 86_400_000])
    }
}

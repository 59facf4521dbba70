import Logging
import ParleyCore
import PostgresNIO

/// The accounts, sessions and credential events of a cluster, in the PostgreSQL database its nodes share (tables
/// `parley_users`, `parley_sessions`, `parley_credential_events`, created by ``PostgresSchema``): an account created,
/// a session opened or revoked on one node is one on every node.
package final class PostgresAccountStore: AccountStore {
    private let database: PostgresStatements
    private let now: @Sendable () -> Int64

    init(client: PostgresClient, location: String, logger: Logger, now: @escaping @Sendable () -> Int64) {
        self.database = PostgresStatements(client: client, location: location, logger: logger)
        self.now = now
    }

    static let migrationStatements = [
        """
        CREATE TABLE parley_users (
            id text PRIMARY KEY,
            name text NOT NULL,
            folded_name text NOT NULL,
            password_hash text NOT NULL,
            admin boolean NOT NULL DEFAULT false,
            disabled boolean NOT NULL DEFAULT false,
            created_at bigint NOT NULL
        )
        """,
        "CREATE INDEX parley_users_folded_name ON parley_users (folded_name)",
        """
        CREATE TABLE parley_sessions (
            token_hash text PRIMARY KEY,
            user_id text NOT NULL REFERENCES parley_users ON DELETE CASCADE,
            created_at bigint NOT NULL,
            expires_at bigint NOT NULL
        )
        """,
        "CREATE INDEX parley_sessions_user_id ON parley_sessions (user_id)",
        """
        CREATE TABLE parley_credential_events (
            id bigserial PRIMARY KEY,
            kind text NOT NULL CHECK (kind IN ('session', 'account')),
            subject text NOT NULL,
            at bigint NOT NULL
        )
        """,
    ]

    /// API keys (schema version 5).
    static let keyMigrationStatements = [
        """
        CREATE TABLE parley_api_keys (
            name text PRIMARY KEY,
            key_hash text NOT NULL UNIQUE,
            scopes text NOT NULL,
            created_at bigint NOT NULL
        )
        """
    ]

    package func createAPIKey(_ key: APIKey, hash: String) async throws {
        let inserted = try await database.rows(
            """
            INSERT INTO parley_api_keys (name, key_hash, scopes, created_at)
            VALUES (\(key.name), \(hash), \(key.storedScopes), \(key.createdAt))
            ON CONFLICT (name) DO NOTHING RETURNING name
            """,
            as: String.self
        )
        guard !inserted.isEmpty else { throw AccountStoreError.keyTaken(key.name) }
    }

    package func apiKey(hash: String) async throws -> APIKey? {
        try await database.rows(
            "SELECT name, scopes, created_at FROM parley_api_keys WHERE key_hash = \(hash)",
            as: (String, String, Int64).self
        ).first.map { APIKey(name: $0.0, scopes: APIKey.scopes(stored: $0.1), createdAt: $0.2) }
    }

    package func apiKeys() async throws -> [APIKey] {
        try await database.rows(
            "SELECT name, scopes, created_at FROM parley_api_keys ORDER BY name",
            as: (String, String, Int64).self
        ).map { APIKey(name: $0.0, scopes: APIKey.scopes(stored: $0.1), createdAt: $0.2) }
    }

    package func revokeAPIKey(named name: String) async throws -> Bool {
        try await !database.rows("DELETE FROM parley_api_keys WHERE name = \(name) RETURNING name", as: String.self).isEmpty
    }

    package func createAccount(_ account: Account, foldedName: String, passwordHash: String) async throws {
        let inserted = try await database.rows(
            """
            INSERT INTO parley_users (id, name, folded_name, password_hash, admin, disabled, created_at)
            VALUES (\(account.id), \(account.name), \(foldedName), \(passwordHash), \(account.admin), \(account.disabled),
                \(account.createdAt))
            ON CONFLICT (id) DO NOTHING RETURNING id
            """,
            as: String.self
        )
        guard !inserted.isEmpty else { throw AccountStoreError.userTaken(account.id) }
    }

    package func account(id: String) async throws -> (account: Account, passwordHash: String)? {
        try await database.rows(
            "SELECT id, name, admin, disabled, created_at, password_hash FROM parley_users WHERE id = \(id)",
            as: (String, String, Bool, Bool, Int64, String).self
        ).first.map { (Account(id: $0.0, name: $0.1, admin: $0.2, disabled: $0.3, createdAt: $0.4), $0.5) }
    }

    package func accounts() async throws -> [Account] {
        try await database.rows(
            "SELECT id, name, admin, disabled, created_at FROM parley_users ORDER BY id",
            as: (String, String, Bool, Bool, Int64).self
        ).map { Account(id: $0.0, name: $0.1, admin: $0.2, disabled: $0.3, createdAt: $0.4) }
    }

    package func isNameTaken(folded: String) async throws -> Bool {
        try await !database.rows("SELECT 1 FROM parley_users WHERE folded_name = \(folded) OR id = \(folded) LIMIT 1", as: Int.self).isEmpty
    }

    package func setPasswordHash(_ hash: String, forAccount id: String) async throws -> Bool {
        let at = now()
        return try await !database.rows(
            """
            WITH changed AS (UPDATE parley_users SET password_hash = \(hash) WHERE id = \(id) RETURNING id),
                revoked AS (DELETE FROM parley_sessions WHERE user_id IN (SELECT id FROM changed)),
                recorded AS (INSERT INTO parley_credential_events (kind, subject, at) SELECT 'account', id, \(at) FROM changed)
            SELECT id FROM changed
            """,
            as: String.self
        ).isEmpty
    }

    package func setDisabled(_ disabled: Bool, account id: String) async throws -> Bool {
        let at = now()
        return try await !database.rows(
            """
            WITH changed AS (UPDATE parley_users SET disabled = \(disabled) WHERE id = \(id) RETURNING id, disabled),
                revoked AS (DELETE FROM parley_sessions WHERE user_id IN (SELECT id FROM changed WHERE disabled)),
                recorded AS (
                    INSERT INTO parley_credential_events (kind, subject, at) SELECT 'account', id, \(at) FROM changed WHERE disabled
                )
            SELECT id FROM changed
            """,
            as: String.self
        ).isEmpty
    }

    package func createSession(tokenHash: String, accountID: String, createdAt: Int64, expiresAt: Int64) async throws {
        _ = try await database.rows(
            """
            WITH created AS (
                INSERT INTO parley_sessions (token_hash, user_id, created_at, expires_at)
                VALUES (\(tokenHash), \(accountID), \(createdAt), \(expiresAt))
            )
            DELETE FROM parley_sessions WHERE user_id = \(accountID) AND expires_at <= \(createdAt) RETURNING 1
            """,
            as: Int.self
        )
    }

    package func session(tokenHash: String, now: Int64) async throws -> (account: Account, expiresAt: Int64)? {
        try await database.rows(
            """
            SELECT u.id, u.name, u.admin, u.disabled, u.created_at, s.expires_at
            FROM parley_sessions s JOIN parley_users u ON u.id = s.user_id
            WHERE s.token_hash = \(tokenHash) AND s.expires_at > \(now) AND NOT u.disabled
            """,
            as: (String, String, Bool, Bool, Int64, Int64).self
        ).first.map { (Account(id: $0.0, name: $0.1, admin: $0.2, disabled: $0.3, createdAt: $0.4), $0.5) }
    }

    package func revokeSession(tokenHash: String) async throws {
        let at = now()
        _ = try await database.rows(
            """
            WITH revoked AS (DELETE FROM parley_sessions WHERE token_hash = \(tokenHash)),
                pruned AS (DELETE FROM parley_credential_events WHERE at < \(at - 86_400_000))
            INSERT INTO parley_credential_events (kind, subject, at) VALUES ('session', \(tokenHash), \(at)) RETURNING id
            """,
            as: Int64.self
        )
    }

    package func credentialEvents(after id: Int64) async throws -> [(id: Int64, event: CredentialEvent)] {
        try await database.rows(
            "SELECT id, kind, subject FROM parley_credential_events WHERE id > \(id) ORDER BY id",
            as: (Int64, String, String).self
        ).map { ($0.0, $0.1 == "session" ? .sessionRevoked(tokenHash: $0.2) : .accountChanged(userID: $0.2)) }
    }

    package func latestCredentialEventID() async throws -> Int64 {
        try await database.rows("SELECT COALESCE(MAX(id), 0)::int8 FROM parley_credential_events", as: Int64.self).first ?? 0
    }
}

/// An account: a user who signs in with a password (`parley users add`, or `POST /api/v1/accounts`).
package struct Account: Sendable, Equatable {
    /// The login name, which is also the user id: 1–32 of `a-z 0-9 _ . -`.
    package var id: String
    /// The display name.
    package var name: String
    /// A server admin (acts as owner everywhere).
    package var admin: Bool
    /// A disabled account cannot sign in, and its sessions do not work.
    package var disabled: Bool
    /// When it was created, in milliseconds since the Unix epoch.
    package var createdAt: Int64

    /// Creates an account.
    package init(id: String, name: String, admin: Bool = false, disabled: Bool = false, createdAt: Int64) {
        self.id = id
        self.name = name
        self.admin = admin
        self.disabled = disabled
        self.createdAt = createdAt
    }
}

/// A change to credentials that every node must apply to the connections it holds (a logout, a disabled account,
/// a changed password), recorded in the database so that nodes (and a server whose database a `parley users`
/// command changed) learn of it by polling.
package enum CredentialEvent: Sendable, Equatable {
    /// One session token was revoked (a logout): connections that authenticated with it close.
    case sessionRevoked(tokenHash: String)
    /// An account was disabled or its password changed: its sessions are gone, its connections close.
    case accountChanged(userID: String)
}

/// What an API key may do over the HTTP API.
package enum APIKeyScope: String, Sendable, CaseIterable, Comparable {
    /// Read every room: the room list, history, members, the event stream.
    case read
    /// Post (as any user, with `as`) and send typing.
    case publish
    /// Create rooms, delete messages, invite, kick, ban, give roles, ban from the server.
    case moderate

    package static func < (lhs: APIKeyScope, rhs: APIKeyScope) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}

/// A key an application's backend uses with the HTTP API (`parley keys create`); stored only as its hash.
package struct APIKey: Sendable, Equatable {
    /// The name it was created with (1–32 of `a-z 0-9 _ . -`), by which it is listed and revoked.
    package var name: String
    /// What it may do.
    package var scopes: Set<APIKeyScope>
    /// When it was created, in milliseconds since the Unix epoch.
    package var createdAt: Int64

    /// Creates a key's record.
    package init(name: String, scopes: Set<APIKeyScope>, createdAt: Int64) {
        self.name = name
        self.scopes = scopes
        self.createdAt = createdAt
    }

    /// The scopes as stored: comma-separated, in order.
    package var storedScopes: String {
        scopes.sorted().map(\.rawValue).joined(separator: ",")
    }

    /// Reads stored scopes (unknown ones are left out).
    package static func scopes(stored: String) -> Set<APIKeyScope> {
        Set(stored.split(separator: ",").compactMap { APIKeyScope(rawValue: String($0)) })
    }
}

/// Why an account store refused a change.
package enum AccountStoreError: Error, Equatable, CustomStringConvertible {
    /// The login name is taken.
    case userTaken(String)
    /// An API key has that name.
    case keyTaken(String)

    package var description: String {
        switch self {
        case .userTaken(let id): "the user name \(id) is taken"
        case .keyTaken(let name): "an API key named \(name) exists"
        }
    }
}

/// Accounts, their session tokens (stored only as hashes) and the credential events, in the same database as the
/// history: SQLite on one node, PostgreSQL shared by a cluster.
package protocol AccountStore: Sendable {
    /// Stores a new account.
    /// - Parameters:
    ///   - foldedName: The display name after NFKC and case folding, which guests may not take.
    ///   - passwordHash: The password's hash (never the password).
    /// - Throws: ``AccountStoreError/userTaken(_:)`` when the login name exists.
    func createAccount(_ account: Account, foldedName: String, passwordHash: String) async throws

    /// The account with this login name, and its password hash.
    func account(id: String) async throws -> (account: Account, passwordHash: String)?

    /// Every account, by login name.
    func accounts() async throws -> [Account]

    /// Whether a guest may not use a display name: one whose folded form is an account's folded display name or
    /// login name.
    func isNameTaken(folded: String) async throws -> Bool

    /// Replaces an account's password hash, revokes its sessions and records ``CredentialEvent/accountChanged(userID:)``.
    /// - Returns: `false` when there is no such account.
    func setPasswordHash(_ hash: String, forAccount id: String) async throws -> Bool

    /// Disables (or enables) an account; disabling revokes its sessions and records
    /// ``CredentialEvent/accountChanged(userID:)``.
    /// - Returns: `false` when there is no such account.
    func setDisabled(_ disabled: Bool, account id: String) async throws -> Bool

    /// Stores a session token's hash for an account.
    func createSession(tokenHash: String, accountID: String, createdAt: Int64, expiresAt: Int64) async throws

    /// The enabled account a session token's hash belongs to, with the session's expiry, if the session exists and
    /// has not expired at `now` (milliseconds since the Unix epoch).
    func session(tokenHash: String, now: Int64) async throws -> (account: Account, expiresAt: Int64)?

    /// Deletes a session and records ``CredentialEvent/sessionRevoked(tokenHash:)``.
    func revokeSession(tokenHash: String) async throws

    /// The credential events recorded after `id`, oldest first, with their ids.
    func credentialEvents(after id: Int64) async throws -> [(id: Int64, event: CredentialEvent)]

    /// The id of the newest credential event (0 when there is none): where a node starts polling.
    func latestCredentialEventID() async throws -> Int64

    /// Stores an API key by the hash of its secret; throws ``AccountStoreError/keyTaken(_:)`` for a taken name.
    func createAPIKey(_ key: APIKey, hash: String) async throws

    /// The API key whose secret has this hash, unless it was revoked.
    func apiKey(hash: String) async throws -> APIKey?

    /// Every API key, by name.
    func apiKeys() async throws -> [APIKey]

    /// Deletes an API key: it stops working at once on every node. Returns `false` when there is none of that name.
    func revokeAPIKey(named name: String) async throws -> Bool
}

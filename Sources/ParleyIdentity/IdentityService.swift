import ParleyCore
import ParleyProtocol

/// Who is who on a Parley server: accounts with passwords, Parley's own session tokens, and (when keys are given)
/// JWTs from the application Parley is embedded in. Sessions ask it through ``IdentityProvider``; the HTTP API
/// registers, signs in and out through it.
public final class IdentityService: IdentityProvider {
    /// What the operator decided.
    public struct Settings: Sendable {
        /// Whether a `hello` without credentials makes a guest (`--guests on|off`).
        public var guestsAllowed: Bool
        /// Whether anyone may create an account over HTTP (`--registration open|closed`).
        public var registrationOpen: Bool
        /// How long a session token is valid (`--session-days`).
        public var sessionDuration: Duration

        /// Creates settings; the defaults are `parley serve`'s.
        public init(guestsAllowed: Bool = true, registrationOpen: Bool = true, sessionDuration: Duration = .seconds(30 * 86_400)) {
            self.guestsAllowed = guestsAllowed
            self.registrationOpen = registrationOpen
            self.sessionDuration = sessionDuration
        }
    }

    /// Why an account was not created; each maps to the contract's error code.
    package enum RegistrationError: Error, Equatable {
        case registrationClosed
        case invalidName(String)
        case weakPassword(String)
        case userTaken
    }

    /// Why a login failed.
    package enum LoginError: Error, Equatable {
        /// Too many failures for this name or address: try again after this long.
        case throttled(retryAfter: Duration)
        /// Unknown user, wrong password or disabled account: one answer for all three.
        case wrongCredentials
    }

    package let settings: Settings
    /// The accounts and sessions.
    package let accounts: any AccountStore
    private let passwords: Passwords
    private let throttle: LoginThrottle
    private let tokens: TrustedTokens?
    private let now: @Sendable () -> Int64

    /// - Parameters:
    ///   - accounts: Where accounts and sessions are stored.
    ///   - passwords: How passwords are hashed.
    ///   - tokens: The JWT issuers trusted, if any.
    ///   - settings: The operator's choices.
    ///   - throttle: How password guessing is slowed.
    ///   - now: The clock, in milliseconds since the Unix epoch.
    package init(
        accounts: any AccountStore,
        passwords: Passwords,
        tokens: TrustedTokens? = nil,
        settings: Settings = Settings(),
        throttle: LoginThrottle = LoginThrottle(),
        now: @escaping @Sendable () -> Int64 = SystemTime.millisecondsSinceEpoch
    ) {
        self.accounts = accounts
        self.passwords = passwords
        self.tokens = tokens
        self.settings = settings
        self.throttle = throttle
        self.now = now
    }

    public var guestsAllowed: Bool { settings.guestsAllowed }

    public func authenticate(token: String) async throws -> Credential {
        if SessionTokens.isSessionToken(token) {
            let hash = SessionTokens.hash(token)
            guard let (account, expiresAt) = try await accounts.session(tokenHash: hash, now: now()) else {
                throw AuthenticationFailure("the session has expired or was signed out; sign in again")
            }
            return Credential(user: account.user, admin: account.admin, expiresAt: expiresAt, sessionTokenHash: hash)
        }
        if APIKeys.isAPIKey(token) {
            throw AuthenticationFailure("an API key works only with the HTTP API (/api/v1/…); sign in to chat")
        }
        guard let tokens else {
            throw AuthenticationFailure("this server accepts only its own session tokens; sign in to get one")
        }
        return try await tokens.credential(for: token, now: now())
    }

    public func isTakenByAnAccount(_ name: String) async throws -> Bool {
        try await accounts.isNameTaken(folded: AccountNames.folded(name))
    }

    /// Creates an account.
    /// - Parameters:
    ///   - user: The login name asked for (lower-cased).
    ///   - name: The display name; the login name when absent.
    ///   - admin: A server admin (only from the command line).
    ///   - open: Whether to ignore `--registration closed` (the command line always may).
    package func register(
        user: String,
        password: String,
        name: String?,
        admin: Bool = false,
        evenIfClosed: Bool = false
    ) async throws
        -> Account
    {
        guard settings.registrationOpen || evenIfClosed else { throw RegistrationError.registrationClosed }
        guard let login = AccountNames.login(user) else {
            throw RegistrationError.invalidName("a user name is 1–32 of a-z 0-9 _ . - (letters are lower-cased)")
        }
        guard let displayName = Names.displayName(enforcing: name ?? login) else {
            throw RegistrationError.invalidName("a display name is 1–32 visible characters in at most 128 bytes")
        }
        if let problem = Passwords.problem(with: password) { throw RegistrationError.weakPassword(problem) }
        let account = Account(id: login, name: displayName, admin: admin, createdAt: now())
        do {
            try await accounts.createAccount(account, foldedName: AccountNames.folded(displayName), passwordHash: try await passwords.hash(password))
        } catch AccountStoreError.userTaken {
            throw RegistrationError.userTaken
        }
        return account
    }

    /// Checks a password and opens a session.
    /// - Parameter address: The client's address, for the per-address throttle.
    /// - Returns: The new session token (shown once, stored only as a hash) and its credential.
    package func login(user: String, password: String, address: String) async throws -> (token: String, credential: Credential) {
        let login = user.lowercased()
        if let wait = throttle.retryAfter(name: login, address: address) { throw LoginError.throttled(retryAfter: wait) }
        let stored = AccountNames.login(login) == nil ? nil : try await accounts.account(id: login)
        let matches = try await passwords.verify(password, against: stored?.passwordHash)
        guard matches, let account = stored?.account, !account.disabled else {
            throw recordFailure(name: login, address: address)
        }
        let (token, hash) = SessionTokens.make()
        let createdAt = now()
        let expiresAt = createdAt + settings.sessionDuration.milliseconds
        try await accounts.createSession(tokenHash: hash, accountID: account.id, createdAt: createdAt, expiresAt: expiresAt)
        return (token, Credential(user: account.user, admin: account.admin, expiresAt: expiresAt, sessionTokenHash: hash))
    }

    private func recordFailure(name: String, address: String) -> LoginError {
        throttle.recordFailure(name: name, address: address)
        return .wrongCredentials
    }

    /// Ends a session of Parley's own; every node closes the connections that authenticated with it.
    package func logout(token: String) async throws {
        try await accounts.revokeSession(tokenHash: SessionTokens.hash(token))
    }
}

extension Account {
    /// The account as a user.
    package var user: User { User(id: id, name: name, guest: false) }
}

extension Duration {
    /// The duration in whole milliseconds.
    var milliseconds: Int64 {
        components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000
    }
}

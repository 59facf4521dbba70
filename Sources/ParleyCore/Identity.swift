import ParleyProtocol

/// What a connection authenticated with: who it speaks for, until when, and what can revoke it.
public struct Credential: Sendable, Equatable {
    /// The user.
    public var user: User
    /// A server admin (acts as owner everywhere).
    public var admin: Bool
    /// When the credential expires, in milliseconds since the Unix epoch; `nil` for guests.
    public var expiresAt: Int64?
    /// The hash of the session token, for a session of Parley's own: a logout revokes it.
    public var sessionTokenHash: String?

    /// Creates a credential.
    public init(user: User, admin: Bool = false, expiresAt: Int64? = nil, sessionTokenHash: String? = nil) {
        self.user = user
        self.admin = admin
        self.expiresAt = expiresAt
        self.sessionTokenHash = sessionTokenHash
    }

    /// A guest's: no expiry, nothing to revoke.
    public static func guest(named name: String) -> Credential {
        Credential(user: .guest(named: name))
    }
}

/// Why a credential was refused; the message says what to do, and never repeats the credential.
public struct AuthenticationFailure: Error, Sendable, Equatable, CustomStringConvertible {
    /// A sentence for the client.
    public var message: String

    /// Creates a failure.
    public init(_ message: String) {
        self.message = message
    }

    public var description: String { message }
}

/// How sessions learn who a connection is: the server's accounts, sessions and trusted token issuers.
public protocol IdentityProvider: Sendable {
    /// Whether a `hello` without credentials makes a guest.
    var guestsAllowed: Bool { get }

    /// The credential a token stands for: a session token of Parley's own, or a JWT from a trusted issuer.
    /// - Throws: ``AuthenticationFailure`` when it stands for nothing (unknown, revoked, expired, badly signed).
    func authenticate(token: String) async throws -> Credential

    /// Whether a guest may not take `name` because it belongs to an account (compared after NFKC and case folding).
    func isTakenByAnAccount(_ name: String) async throws -> Bool
}

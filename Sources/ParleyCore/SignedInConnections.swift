import ParleyProtocol
import Synchronization

/// The connections that authenticated with a credential that can expire or be revoked, so that a logout, a disabled
/// account, a changed password or an expiry closes them with 4001, on this node, within moments.
public final class SignedInConnections: Sendable {
    private struct Entry {
        let connection: Connection
        var credential: Credential
    }

    private let entries = Mutex<[UInt64: Entry]>([:])

    /// Creates an empty registry.
    public init() {}

    /// Records (or replaces, after a `refresh`) what a connection authenticated with; guests are not recorded.
    public func record(_ connection: Connection, credential: Credential) {
        guard !credential.user.guest else { return }
        entries.withLock { $0[connection.id] = Entry(connection: connection, credential: credential) }
    }

    /// Forgets a connection that has ended.
    public func forget(_ connection: Connection) {
        _ = entries.withLock { $0.removeValue(forKey: connection.id) }
    }

    /// Closes, with 4001, every connection a credential event voids.
    /// - Returns: How many connections were closed.
    @discardableResult
    package func apply(_ event: CredentialEvent) -> Int {
        switch event {
        case .sessionRevoked(let hash):
            close(reason: "signed out") { $0.sessionTokenHash == hash }
        case .accountChanged(let userID):
            close(reason: "credentials changed") { $0.sessionTokenHash != nil && $0.user.id == userID }
        }
    }

    /// Closes, with 4001, every connection whose credential has expired at `now` (milliseconds since the Unix epoch).
    @discardableResult
    public func closeExpired(at now: Int64) -> Int {
        close(reason: "token expired") { ($0.expiresAt ?? .max) <= now }
    }

    /// The connections that speak for `userID`.
    package func connections(of userID: String) -> [Connection] {
        entries.withLock { entries in entries.values.filter { $0.credential.user.id == userID }.map(\.connection) }
    }

    /// How many connections are recorded.
    public var count: Int { entries.withLock { $0.count } }

    private func close(reason: String, where matches: (Credential) -> Bool) -> Int {
        let closing = entries.withLock { entries in
            let matching = entries.filter { matches($0.value.credential) }
            for id in matching.keys { entries[id] = nil }
            return matching.values.map(\.connection)
        }
        for connection in closing { connection.outbox.close(.unauthorized, reason: reason) }
        return closing.count
    }
}

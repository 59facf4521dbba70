import Crypto
import ParleyProtocol

/// Applies an ``AccessEvent`` to the connections this node holds: the node that made the change calls it at once,
/// the others when they poll the database's access events.
package enum AccessEvents {
    /// Applies `event` to this node's connections.
    package static func apply(_ event: AccessEvent, hub: Hub, signedIn: SignedInConnections) {
        switch event {
        case .removed(let room, let userID, let reason):
            hub.remove(userID: userID, from: room, reason: reason)
        case .invited(let room, let userID, let by):
            for connection in signedIn.connections(of: userID) {
                connection.outbox.push(connection.format.encode(.invited(room: room, by: by)))
            }
        case .bannedFromServer(let userID):
            let connections = signedIn.connections(of: userID) + hub.connections(of: userID)
            for connection in connections { connection.outbox.close(.bannedFromServer, reason: "banned from the server") }
        }
    }
}

/// The rooms of direct messages: one per pair of users, named the same whoever opens it.
package enum DirectMessages {
    /// What every direct message's room name starts with: reserved, so that nobody can make the room of two other
    /// people's direct messages a room of their own before they open it.
    package static let prefix = "dm-"

    /// Whether `room` is a name only direct messages may have.
    package static func isReserved(_ room: String) -> Bool {
        room.hasPrefix(prefix)
    }

    /// The room of `one` and `other`'s direct messages: `dm-` and 32 hex digits of a hash of the sorted pair, a
    /// valid room name whatever the ids contain.
    package static func room(of one: String, and other: String) -> String {
        let pair = [one, other].sorted().joined(separator: "\u{0}")
        return prefix
            + SHA256.hash(data: Array(pair.utf8)).prefix(16).map { byte in
                String(byte >> 4, radix: 16) + String(byte & 0x0F, radix: 16)
            }.joined()
    }
}

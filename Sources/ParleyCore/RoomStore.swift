import ParleyProtocol

/// What a room is, as its record says. A room without a record is a public room nobody created; its first join
/// makes one.
public struct RoomRecord: Sendable, Equatable {
    /// The room's name.
    public var room: String
    /// A room, or a direct message.
    public var kind: RoomKind
    /// Public or private (every direct message is private).
    public var visibility: RoomVisibility

    /// Creates a record.
    public init(room: String, kind: RoomKind, visibility: RoomVisibility) {
        self.room = room
        self.kind = kind
        self.visibility = visibility
    }
}

/// A change to who may be where that every node must apply to the connections it holds, recorded in the database
/// so that nodes learn of it by polling. Each event names the node that recorded it (its origin), which applied it at
/// once and skips it when polling.
public enum AccessEvent: Sendable, Equatable {
    /// The user was removed from the room (kicked or banned): their connections leave it at once.
    case removed(room: String, userID: String, reason: RemovalReason)
    /// The user was made a member of the room by `by`: their connections are told.
    case invited(room: String, userID: String, by: String)
    /// The user was banned from the server: their connections close with 4003.
    case bannedFromServer(userID: String)
}

/// Rooms, memberships, roles and bans, and the users the server knows, in the same database as the history: SQLite
/// on one node, PostgreSQL shared by a cluster. Every change that affects open connections is recorded as an
/// ``AccessEvent`` in the same transaction.
public protocol RoomStore: Sendable {
    /// The room's record, if it has one.
    func room(_ name: String) async throws -> RoomRecord?

    /// Creates a room with its first members (its owner; the two users of a direct message).
    /// - Returns: `false`, changing nothing, when a room of that name exists.
    func createRoom(_ record: RoomRecord, members: [String: RoomRole]) async throws -> Bool

    /// The user's role in the room, if a member.
    func role(of userID: String, in room: String) async throws -> RoomRole?

    /// Makes the user a member of the room with `role` (or changes their role).
    func setRole(_ role: RoomRole, of userID: String, in room: String) async throws

    /// Whether the user is banned from the room.
    func isBanned(_ userID: String, from room: String) async throws -> Bool

    /// What deciding whether the user may enter the room needs: the room's record, a ban, the user's role; read
    /// together, as every join does.
    func entry(to room: String, for userID: String) async throws -> RoomEntry

    /// Ends the user's membership (and, with `ban`, keeps them out), recording ``AccessEvent/removed(room:userID:reason:)``.
    func remove(_ userID: String, from room: String, ban: Bool, by: String, origin: String) async throws

    /// Lifts the user's ban from the room.
    func unban(_ userID: String, from room: String) async throws

    /// Makes the user a member, recording ``AccessEvent/invited(room:userID:by:)``.
    func invite(_ userID: String, to room: String, by: String, origin: String) async throws

    /// Whether the user is banned from the server.
    func isBannedFromServer(_ userID: String) async throws -> Bool

    /// Bans the user from the server, recording ``AccessEvent/bannedFromServer(userID:)``; or lifts the ban.
    func setBannedFromServer(_ banned: Bool, userID: String, by: String, origin: String) async throws

    /// The rooms the user is a member of, and every public room, by name.
    func rooms(of userID: String) async throws -> [RoomSummary]

    /// The direct message's other member, by id, if `room` is a direct message of `userID`.
    func peer(of userID: String, in room: String) async throws -> String?

    /// A signed-in user the server knows: an account, or a user of a trusted token seen before.
    func knownUser(_ id: String) async throws -> UserRef?

    /// Remembers a signed-in user and their display name (a token's users are known only once seen).
    func rememberUser(_ user: UserRef) async throws

    /// The access events recorded after `id`, oldest first, with their ids and the node that recorded each.
    func accessEvents(after id: Int64) async throws -> [(id: Int64, origin: String, event: AccessEvent)]

    /// The id of the newest access event (0 when there is none): where a node starts polling.
    func latestAccessEventID() async throws -> Int64
}

/// What a store says about one user and one room when the user asks to enter it.
public struct RoomEntry: Sendable, Equatable {
    /// The room's record (`nil` for a public room nobody created).
    public var record: RoomRecord?
    /// Whether the user is banned from the room.
    public var banned: Bool
    /// The user's role in the room, if a member.
    public var role: RoomRole?

    /// Creates an entry.
    public init(record: RoomRecord?, banned: Bool, role: RoomRole?) {
        self.record = record
        self.banned = banned
        self.role = role
    }
}

extension RoomStore {
    /// The three reads one after another; a store that can read them at once does.
    public func entry(to room: String, for userID: String) async throws -> RoomEntry {
        RoomEntry(record: try await self.room(room), banned: try await isBanned(userID, from: room), role: try await role(of: userID, in: room))
    }
}

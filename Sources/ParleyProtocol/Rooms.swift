/// Who may see and enter a room: anyone (`public`), or only its members (`private`; every direct message).
public enum RoomVisibility: String, Codable, Sendable, CaseIterable {
    case `public`
    case `private`
}

/// What a room is: a room people join by name, or the direct messages of two users.
public enum RoomKind: String, Codable, Sendable, CaseIterable {
    case room
    case dm
}

/// A member's role in a room. Server admins act as owners everywhere.
public enum RoomRole: String, Codable, Sendable, CaseIterable, Comparable {
    case member
    case moderator
    case owner

    /// Whether the role may moderate: invite, kick, ban, unban, delete others' messages.
    public var moderates: Bool { self >= .moderator }

    public static func < (left: RoomRole, right: RoomRole) -> Bool {
        allCases.firstIndex(of: left)! < allCases.firstIndex(of: right)!
    }
}

/// Why a user was removed from a room.
public enum RemovalReason: String, Codable, Sendable {
    case kicked
    case banned
}

/// One room of the `rooms` reply: a room the user is a member of, or a public one.
public struct RoomSummary: Codable, Sendable, Equatable {
    /// The room's name.
    public var room: String
    /// A room or a direct message.
    public var kind: RoomKind
    /// Public or private.
    public var visibility: RoomVisibility
    /// The offset of its newest entry (0 when empty).
    public var head: Int64
    /// How many members it has.
    public var members: Int
    /// The user's role, when a member.
    public var role: RoomRole?
    /// For a direct message, the other user.
    public var peer: UserRef?

    /// Creates a summary.
    public init(
        room: String,
        kind: RoomKind,
        visibility: RoomVisibility,
        head: Int64,
        members: Int,
        role: RoomRole? = nil,
        peer: UserRef? = nil
    ) {
        self.room = room
        self.kind = kind
        self.visibility = visibility
        self.head = head
        self.members = members
        self.role = role
        self.peer = peer
    }
}

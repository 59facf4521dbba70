#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A chat message as every client sees it: in `message` frames, in replay and in `history`.
public struct ChatMessage: Codable, Sendable, Equatable {
    /// The room.
    public var room: String
    /// The message's position in its room: 1, 2, 3 … with no gaps.
    public var offset: Int64
    /// The sender's client message id.
    public var id: String
    /// The sender's display name.
    public var from: String
    /// The sender's user id.
    public var fromId: String
    /// The text.
    public var text: String
    /// When the server stored it, RFC 3339 UTC with milliseconds.
    public var ts: String
    /// Whether the message was deleted: its text is then empty (sent only when `true`).
    public var deleted: Bool

    /// Creates a message.
    public init(room: String, offset: Int64, id: String, from: String, fromId: String, text: String, ts: String, deleted: Bool = false) {
        self.room = room
        self.offset = offset
        self.id = id
        self.from = from
        self.fromId = fromId
        self.text = text
        self.ts = ts
        self.deleted = deleted
    }

    private enum CodingKeys: String, CodingKey {
        case room
        case offset
        case id
        case from
        case fromId
        case text
        case ts
        case deleted
    }

    public init(from decoder: any Decoder) throws {
        let fields = try decoder.container(keyedBy: CodingKeys.self)
        room = try fields.decode(String.self, forKey: .room)
        offset = try fields.decode(Int64.self, forKey: .offset)
        id = try fields.decode(String.self, forKey: .id)
        from = try fields.decode(String.self, forKey: .from)
        fromId = try fields.decode(String.self, forKey: .fromId)
        text = try fields.decode(String.self, forKey: .text)
        ts = try fields.decode(String.self, forKey: .ts)
        deleted = try fields.decodeIfPresent(Bool.self, forKey: .deleted) ?? false
    }

    public func encode(to encoder: any Encoder) throws {
        var fields = encoder.container(keyedBy: CodingKeys.self)
        try fields.encode(room, forKey: .room)
        try fields.encode(offset, forKey: .offset)
        try fields.encode(id, forKey: .id)
        try fields.encode(from, forKey: .from)
        try fields.encode(fromId, forKey: .fromId)
        try fields.encode(text, forKey: .text)
        try fields.encode(ts, forKey: .ts)
        if deleted { try fields.encode(true, forKey: .deleted) }
    }
}

/// How `joined` describes the room: what it is, who may enter, and for a direct message the other user.
public struct JoinedRoom: Sendable, Equatable {
    /// A room or a direct message.
    public var kind: RoomKind
    /// Public or private.
    public var visibility: RoomVisibility
    /// For a direct message, the other user.
    public var peer: UserRef?
    /// For a large room (more users than the presence list limit), how many users it has: `members` and `users`
    /// are then a page of them.
    public var memberCount: Int?

    /// Creates a description.
    public init(kind: RoomKind = .room, visibility: RoomVisibility = .public, peer: UserRef? = nil, memberCount: Int? = nil) {
        self.kind = kind
        self.visibility = visibility
        self.peer = peer
        self.memberCount = memberCount
    }

    /// A public room joined by name, as every room was before rooms had owners.
    public static let publicRoom = JoinedRoom()
}

/// A frame the server sends to a parley.v1 client.
public enum ServerEvent: Sendable, Equatable {
    /// Reply to `hello`; `expiresAt` (RFC 3339) when the credential the connection authenticated with expires.
    case welcome(ref: Ref?, session: String, user: User, limits: Limits, expiresAt: String?)
    /// Reply to `join` (and `dm`); replayed and live `message` frames follow. `members` are display names, `users` the
    /// same people with their ids.
    case joined(ref: Ref?, room: String, head: Int64, members: [String], users: [UserRef], about: JoinedRoom)
    /// A stored message of a joined room.
    case message(ChatMessage)
    /// Reply to `send`, once the message is stored.
    case ack(ref: Ref?, room: String, id: String, offset: Int64, ts: String)
    /// Reply to `history`, oldest first.
    case history(ref: Ref?, room: String, messages: [ChatMessage])
    /// Someone else in the room is typing.
    case typing(room: String, from: UserRef)
    /// Someone joined or left a room.
    case presence(room: String, event: PresenceChange, user: UserRef)
    /// How many users a large room has now (instead of one `presence` per person; at most once a second).
    case presenceCount(room: String, count: Int)
    /// Reply to `members`: a page of the room's users by id, and the id to ask `after` next (`nil` at the end).
    case members(ref: Ref?, room: String, users: [UserRef], next: String?)
    /// Reply to `leave`.
    case left(ref: Ref?, room: String)
    /// Reply to `ping`.
    case pong(ref: Ref?)
    /// Reply to `refresh`: the connection's credential now expires at `expiresAt` (RFC 3339).
    case refreshed(ref: Ref?, expiresAt: String?)
    /// A command was refused; the connection stays open.
    case error(ref: Ref?, code: ErrorCode, message: String)
    /// Reply to `create`.
    case created(ref: Ref?, room: String, visibility: RoomVisibility)
    /// Reply to `rooms`: the user's rooms and the public ones.
    case rooms(ref: Ref?, rooms: [RoomSummary])
    /// The user was made a member of a room by the user `by` (an id).
    case invited(room: String, by: String)
    /// The user was removed from a room; nothing more comes from it.
    case removed(room: String, reason: RemovalReason)
    /// Reply to `invite`, `kick`, `ban`, `unban`, `role` and `delete`.
    case done(ref: Ref?)
    /// The message at `target` was deleted by the user `by` (an id); the deletion is the room's entry at `offset`.
    case deleted(room: String, offset: Int64, target: Int64, by: String)

    /// The event's `type` on the wire.
    public var type: String {
        switch self {
        case .welcome: "welcome"
        case .joined: "joined"
        case .message: "message"
        case .ack: "ack"
        case .history: "history"
        case .typing: "typing"
        case .presence, .presenceCount: "presence"
        case .members: "members"
        case .left: "left"
        case .pong: "pong"
        case .refreshed: "refreshed"
        case .error: "error"
        case .created: "created"
        case .rooms: "rooms"
        case .invited: "invited"
        case .removed: "removed"
        case .done: "done"
        case .deleted: "deleted"
        }
    }
}

/// The `event` of a `presence` frame.
public enum PresenceChange: String, Codable, Sendable {
    case join
    case leave
}

extension ServerEvent {
    /// The event as the UTF-8 JSON bytes of one text frame.
    public func jsonBytes() -> [UInt8] {
        if let bytes = EventJSON.bytes(of: self) { return bytes }
        // Every field is a string, an integer, a number or an array of them: encoding cannot fail.
        return Array(try! JSON.encoder().encode(self))
    }

    /// Decodes one text frame from the server (for clients, tools and tests).
    public static func decode(_ text: String) throws -> ServerEvent {
        try JSONDecoder().decode(ServerEvent.self, from: Data(text.utf8))
    }
}

extension ServerEvent: Codable {
    private enum Key: String, CodingKey {
        case type, ref, session, user, name, limits, room, head, members, users, id, offset, ts, messages, from, event
        case code, message, fromId, userId, expiresAt
        case kind, visibility, peer, rooms, by, reason, target
        case memberCount, count, next
    }

    public func encode(to encoder: any Encoder) throws {
        if case .message(let message) = self {
            var fields = encoder.container(keyedBy: Key.self)
            try fields.encode(type, forKey: .type)
            try message.encode(to: encoder)
            return
        }
        var fields = encoder.container(keyedBy: Key.self)
        try fields.encode(type, forKey: .type)
        switch self {
        case .welcome(let ref, let session, let user, let limits, let expiresAt):
            try fields.encodeIfPresent(ref, forKey: .ref)
            try fields.encode(session, forKey: .session)
            try fields.encode(user, forKey: .user)
            try fields.encode(limits, forKey: .limits)
            try fields.encodeIfPresent(expiresAt, forKey: .expiresAt)
        case .joined(let ref, let room, let head, let members, let users, let about):
            try fields.encodeIfPresent(ref, forKey: .ref)
            try fields.encode(room, forKey: .room)
            try fields.encode(head, forKey: .head)
            try fields.encode(members, forKey: .members)
            try fields.encode(users, forKey: .users)
            try fields.encode(about.kind, forKey: .kind)
            try fields.encode(about.visibility, forKey: .visibility)
            try fields.encodeIfPresent(about.peer, forKey: .peer)
            try fields.encodeIfPresent(about.memberCount, forKey: .memberCount)
        case .ack(let ref, let room, let id, let offset, let ts):
            try fields.encodeIfPresent(ref, forKey: .ref)
            try fields.encode(room, forKey: .room)
            try fields.encode(id, forKey: .id)
            try fields.encode(offset, forKey: .offset)
            try fields.encode(ts, forKey: .ts)
        case .history(let ref, let room, let messages):
            try fields.encodeIfPresent(ref, forKey: .ref)
            try fields.encode(room, forKey: .room)
            try fields.encode(messages.map(ServerEvent.message), forKey: .messages)
        case .typing(let room, let from):
            try fields.encode(room, forKey: .room)
            try fields.encode(from.name, forKey: .from)
            try fields.encode(from.id, forKey: .fromId)
        case .presence(let room, let event, let user):
            try fields.encode(room, forKey: .room)
            try fields.encode(event, forKey: .event)
            try fields.encode(user.name, forKey: .user)
            try fields.encode(user.id, forKey: .userId)
        case .presenceCount(let room, let count):
            try fields.encode(room, forKey: .room)
            try fields.encode(count, forKey: .count)
        case .members(let ref, let room, let users, let next):
            try fields.encodeIfPresent(ref, forKey: .ref)
            try fields.encode(room, forKey: .room)
            try fields.encode(users, forKey: .users)
            try fields.encode(next, forKey: .next)
        case .left(let ref, let room):
            try fields.encodeIfPresent(ref, forKey: .ref)
            try fields.encode(room, forKey: .room)
        case .pong(let ref):
            try fields.encodeIfPresent(ref, forKey: .ref)
        case .refreshed(let ref, let expiresAt):
            try fields.encodeIfPresent(ref, forKey: .ref)
            try fields.encodeIfPresent(expiresAt, forKey: .expiresAt)
        case .error(let ref, let code, let message):
            try fields.encodeIfPresent(ref, forKey: .ref)
            try fields.encode(code, forKey: .code)
            try fields.encode(message, forKey: .message)
        case .created(let ref, let room, let visibility):
            try fields.encodeIfPresent(ref, forKey: .ref)
            try fields.encode(room, forKey: .room)
            try fields.encode(visibility, forKey: .visibility)
        case .rooms(let ref, let rooms):
            try fields.encodeIfPresent(ref, forKey: .ref)
            try fields.encode(rooms, forKey: .rooms)
        case .invited(let room, let by):
            try fields.encode(room, forKey: .room)
            try fields.encode(by, forKey: .by)
        case .removed(let room, let reason):
            try fields.encode(room, forKey: .room)
            try fields.encode(reason, forKey: .reason)
        case .done(let ref):
            try fields.encodeIfPresent(ref, forKey: .ref)
        case .deleted(let room, let offset, let target, let by):
            try fields.encode(room, forKey: .room)
            try fields.encode(offset, forKey: .offset)
            try fields.encode(target, forKey: .target)
            try fields.encode(by, forKey: .by)
        case .message:
            break
        }
    }

    public init(from decoder: any Decoder) throws {
        let fields = try decoder.container(keyedBy: Key.self)
        let type = try fields.decode(String.self, forKey: .type)
        let ref = try fields.decodeIfPresent(Ref.self, forKey: .ref)
        switch type {
        case "welcome":
            self = .welcome(
                ref: ref,
                session: try fields.decode(String.self, forKey: .session),
                user: try fields.decode(User.self, forKey: .user),
                limits: try fields.decode(Limits.self, forKey: .limits),
                expiresAt: try fields.decodeIfPresent(String.self, forKey: .expiresAt)
            )
        case "joined":
            self = .joined(
                ref: ref,
                room: try fields.decode(String.self, forKey: .room),
                head: try fields.decode(Int64.self, forKey: .head),
                members: try fields.decode([String].self, forKey: .members),
                users: try fields.decode([UserRef].self, forKey: .users),
                about: JoinedRoom(
                    kind: try fields.decodeIfPresent(RoomKind.self, forKey: .kind) ?? .room,
                    visibility: try fields.decodeIfPresent(RoomVisibility.self, forKey: .visibility) ?? .public,
                    peer: try fields.decodeIfPresent(UserRef.self, forKey: .peer),
                    memberCount: try fields.decodeIfPresent(Int.self, forKey: .memberCount)
                )
            )
        case "message":
            self = .message(try ChatMessage(from: decoder))
        case "ack":
            self = .ack(
                ref: ref,
                room: try fields.decode(String.self, forKey: .room),
                id: try fields.decode(String.self, forKey: .id),
                offset: try fields.decode(Int64.self, forKey: .offset),
                ts: try fields.decode(String.self, forKey: .ts)
            )
        case "history":
            self = .history(
                ref: ref,
                room: try fields.decode(String.self, forKey: .room),
                messages: try fields.decode([ChatMessage].self, forKey: .messages)
            )
        case "typing":
            self = .typing(
                room: try fields.decode(String.self, forKey: .room),
                from: UserRef(id: try fields.decode(String.self, forKey: .fromId), name: try fields.decode(String.self, forKey: .from))
            )
        case "presence" where fields.contains(.count):
            self = .presenceCount(room: try fields.decode(String.self, forKey: .room), count: try fields.decode(Int.self, forKey: .count))
        case "members":
            self = .members(
                ref: ref,
                room: try fields.decode(String.self, forKey: .room),
                users: try fields.decode([UserRef].self, forKey: .users),
                next: try fields.decodeIfPresent(String.self, forKey: .next)
            )
        case "presence":
            self = .presence(
                room: try fields.decode(String.self, forKey: .room),
                event: try fields.decode(PresenceChange.self, forKey: .event),
                user: UserRef(id: try fields.decode(String.self, forKey: .userId), name: try fields.decode(String.self, forKey: .user))
            )
        case "left":
            self = .left(ref: ref, room: try fields.decode(String.self, forKey: .room))
        case "pong":
            self = .pong(ref: ref)
        case "refreshed":
            self = .refreshed(ref: ref, expiresAt: try fields.decodeIfPresent(String.self, forKey: .expiresAt))
        case "error":
            self = .error(
                ref: ref,
                code: try fields.decode(ErrorCode.self, forKey: .code),
                message: try fields.decode(String.self, forKey: .message)
            )
        case "created":
            self = .created(
                ref: ref,
                room: try fields.decode(String.self, forKey: .room),
                visibility: try fields.decode(RoomVisibility.self, forKey: .visibility)
            )
        case "rooms":
            self = .rooms(ref: ref, rooms: try fields.decode([RoomSummary].self, forKey: .rooms))
        case "invited":
            self = .invited(room: try fields.decode(String.self, forKey: .room), by: try fields.decode(String.self, forKey: .by))
        case "removed":
            self = .removed(
                room: try fields.decode(String.self, forKey: .room),
                reason: try fields.decode(RemovalReason.self, forKey: .reason)
            )
        case "done":
            self = .done(ref: ref)
        case "deleted":
            self = .deleted(
                room: try fields.decode(String.self, forKey: .room),
                offset: try fields.decode(Int64.self, forKey: .offset),
                target: try fields.decode(Int64.self, forKey: .target),
                by: try fields.decode(String.self, forKey: .by)
            )
        default:
            throw DecodingError.dataCorruptedError(forKey: .type, in: fields, debugDescription: "unknown event type \(type)")
        }
    }
}

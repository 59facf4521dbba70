import ParleyProtocol

/// An entry of a room's log as the store keeps it: a message, or the deletion of one (``target``).
public struct StoredMessage: Sendable, Equatable {
    /// The room.
    public var room: String
    /// The message's position in its room, from 1, with no gaps.
    public var offset: Int64
    /// The sender's client message id; unique per (room, sender's user id).
    public var clientID: String
    /// The sender's user id.
    public var senderID: String
    /// The sender's display name when it was sent.
    public var sender: String
    /// The text.
    public var text: String
    /// When it was stored, in milliseconds since 1970-01-01T00:00:00Z.
    public var storedAt: Int64
    /// For a deletion entry, the offset of the message it deleted (the sender is who deleted it); `nil` for a message.
    public var target: Int64?
    /// Whether the message was deleted: its text is then erased.
    public var deleted: Bool

    /// Creates a stored entry.
    public init(
        room: String,
        offset: Int64,
        clientID: String,
        senderID: String,
        sender: String,
        text: String,
        storedAt: Int64,
        target: Int64? = nil,
        deleted: Bool = false
    ) {
        self.room = room
        self.offset = offset
        self.clientID = clientID
        self.senderID = senderID
        self.sender = sender
        self.text = text
        self.storedAt = storedAt
        self.target = target
        self.deleted = deleted
    }

    /// The message as parley.v1 sends it (of a message, not a deletion entry).
    public var chatMessage: ChatMessage {
        ChatMessage(
            room: room,
            offset: offset,
            id: clientID,
            from: sender,
            fromId: senderID,
            text: text,
            ts: Timestamp.rfc3339(millisecondsSinceEpoch: storedAt),
            deleted: deleted
        )
    }

    /// The entry as parley.v1 sends it, live or replayed: a `message`, or a `deleted`.
    public var event: ServerEvent {
        if let target { return .deleted(room: room, offset: offset, target: target, by: senderID) }
        return .message(chatMessage)
    }
}

/// An entry to append: a message, or the deletion of one (``target``); everything but what the store assigns
/// (offset, time).
public struct MessageDraft: Sendable, Equatable {
    /// The room.
    public var room: String
    /// The sender's user id: with the room and the client id, what makes a message unique.
    public var senderID: String
    /// The sender's display name.
    public var sender: String
    /// The sender's client message id.
    public var clientID: String
    /// The text.
    public var text: String
    /// For a deletion, the offset of the message to delete.
    public var target: Int64?

    /// Creates a draft.
    public init(room: String, senderID: String, sender: String, clientID: String, text: String) {
        self.room = room
        self.senderID = senderID
        self.sender = sender
        self.clientID = clientID
        self.text = text
    }

    /// The deletion of the message at `target` in `room`, by `user`.
    public static func deletion(of target: Int64, in room: String, by user: UserRef) -> MessageDraft {
        var draft = MessageDraft(room: room, senderID: user.id, sender: user.name, clientID: "delete:\(target)", text: "")
        draft.target = target
        return draft
    }

    /// The stored entry this draft becomes at `offset`, stored at `storedAt`.
    public func stored(at offset: Int64, storedAt: Int64) -> StoredMessage {
        StoredMessage(
            room: room,
            offset: offset,
            clientID: clientID,
            senderID: senderID,
            sender: sender,
            text: text,
            storedAt: storedAt,
            target: target
        )
    }
}

/// The result of appending one draft.
public struct AppendOutcome: Sendable, Equatable {
    /// The stored message: the new one, or the one stored earlier under the same (room, sender's user id, client id).
    public var message: StoredMessage
    /// Whether this append created the message (`false`: a resend, deduplicated).
    public var isNew: Bool

    /// Creates an outcome.
    public init(message: StoredMessage, isNew: Bool) {
        self.message = message
        self.isNew = isNew
    }
}

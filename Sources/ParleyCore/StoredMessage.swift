import ParleyProtocol

/// A message as the store keeps it.
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

    /// Creates a stored message.
    public init(room: String, offset: Int64, clientID: String, senderID: String, sender: String, text: String, storedAt: Int64) {
        self.room = room
        self.offset = offset
        self.clientID = clientID
        self.senderID = senderID
        self.sender = sender
        self.text = text
        self.storedAt = storedAt
    }

    /// The message as parley.v1 sends it.
    public var chatMessage: ChatMessage {
        ChatMessage(
            room: room,
            offset: offset,
            id: clientID,
            from: sender,
            fromId: senderID,
            text: text,
            ts: Timestamp.rfc3339(millisecondsSinceEpoch: storedAt)
        )
    }
}

/// A message to append: everything but what the store assigns (offset, time).
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

    /// Creates a draft.
    public init(room: String, senderID: String, sender: String, clientID: String, text: String) {
        self.room = room
        self.senderID = senderID
        self.sender = sender
        self.clientID = clientID
        self.text = text
    }

    /// The stored message this draft becomes at `offset`, stored at `storedAt`.
    public func stored(at offset: Int64, storedAt: Int64) -> StoredMessage {
        StoredMessage(
            room: room,
            offset: offset,
            clientID: clientID,
            senderID: senderID,
            sender: sender,
            text: text,
            storedAt: storedAt
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

/// What makes a message unique beside its offset: the same sender's user id sending the same client id to the same
/// room is the same message, however often it is resent.
package struct MessageKey: Hashable, Sendable {
    package var room: String
    package var senderID: String
    package var clientID: String

    /// Creates a key.
    package init(room: String, senderID: String, clientID: String) {
        self.room = room
        self.senderID = senderID
        self.clientID = clientID
    }
}

extension MessageDraft {
    /// The key a stored copy of this draft would have.
    package var key: MessageKey { MessageKey(room: room, senderID: senderID, clientID: clientID) }
}

extension StoredMessage {
    /// The message's key.
    package var key: MessageKey { MessageKey(room: room, senderID: senderID, clientID: clientID) }
}

/// The rule every ``MessageStore`` applies to a batch of drafts, written once; the stores only say how to read a
/// room's head and earlier entries, and write what it decides in the same transaction.
///
/// In the batch's order, a draft whose key is already stored (or came earlier in the batch) gets that entry back,
/// `isNew == false`; so does the deletion of a message that is already deleted (it gets the message back). Any other
/// draft becomes the next offset of its room, so a room's offsets run from 1 with no gaps and follow the order of the
/// drafts. The store erases the text of the message each new deletion entry targets.
package enum OffsetAssignment {
    /// Assigns offsets to `drafts`.
    /// - Parameters:
    ///   - drafts: The drafts, in the order their offsets must follow.
    ///   - storedAt: The time the new entries are stored at, in milliseconds since the Unix epoch.
    ///   - head: The offset of a room's newest stored entry (0 for an empty room); asked once per room.
    ///   - stored: The entry stored earlier under a key, if any; asked once per key not already in the batch.
    ///   - entry: The entry at an offset of a room, if any; asked for the target of each deletion.
    /// - Returns: One outcome per draft, in order, and the new entries, in order, for the store to write.
    package static func assign(
        _ drafts: [MessageDraft],
        storedAt: Int64,
        head: (String) throws -> Int64,
        stored: (MessageKey) throws -> StoredMessage?,
        entry: (String, Int64) throws -> StoredMessage?
    ) rethrows -> (outcomes: [AppendOutcome], new: [StoredMessage]) {
        var heads: [String: Int64] = [:]
        var inBatch: [MessageKey: StoredMessage] = [:]
        var deletedInBatch: Set<EntryAddress> = []
        var outcomes: [AppendOutcome] = []
        var new: [StoredMessage] = []
        outcomes.reserveCapacity(drafts.count)
        for draft in drafts {
            let key = draft.key
            if let earlier = try inBatch[key] ?? stored(key) {
                outcomes.append(AppendOutcome(message: earlier, isNew: false))
                continue
            }
            if let target = draft.target {
                let targetKey = EntryAddress(room: draft.room, offset: target)
                let message = try entry(draft.room, target)
                if deletedInBatch.contains(targetKey) || message == nil || message!.deleted || message!.target != nil {
                    var unchanged = message ?? draft.stored(at: target, storedAt: storedAt)
                    unchanged.deleted = true
                    outcomes.append(AppendOutcome(message: unchanged, isNew: false))
                    continue
                }
                deletedInBatch.insert(targetKey)
            }
            let offset = try (heads[draft.room] ?? head(draft.room)) + 1
            heads[draft.room] = offset
            let message = draft.stored(at: offset, storedAt: storedAt)
            inBatch[key] = message
            new.append(message)
            outcomes.append(AppendOutcome(message: message, isNew: true))
        }
        return (outcomes, new)
    }

    private struct EntryAddress: Hashable {
        var room: String
        var offset: Int64
    }
}

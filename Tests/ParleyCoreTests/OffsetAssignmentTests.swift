import ParleyCore
import Testing

/// The one rule the stores share, without a store: what it decides, and what it asks the store.
@Suite struct OffsetAssignmentTests {
    private func draft(_ room: String, _ id: String, sender: String = "Ana") -> MessageDraft {
        MessageDraft(room: room, senderID: "guest:" + sender, sender: sender, clientID: id, text: "text \(id)")
    }

    @Test func newDraftsFollowTheirRoomsHeadAndResendsGetTheStoredMessage() {
        let earlier = draft("a", "old").stored(at: 4, storedAt: 1)
        var headsAsked: [String] = []
        var keysAsked: [MessageKey] = []
        let drafts = [draft("a", "1"), draft("b", "1"), draft("a", "old"), draft("a", "1"), draft("a", "2")]
        let (outcomes, new) = OffsetAssignment.assign(
            drafts,
            storedAt: 9,
            head: { room in
                headsAsked.append(room)
                return room == "a" ? 7 : 0
            },
            stored: { key in
                keysAsked.append(key)
                return key == earlier.key ? earlier : nil
            },
            entry: { _, _ in nil }
        )
        #expect(outcomes.map(\.message.offset) == [8, 1, 4, 8, 9])
        #expect(outcomes.map(\.isNew) == [true, true, false, false, true])
        #expect(new.map(\.offset) == [8, 1, 9] && new.allSatisfy { $0.storedAt == 9 })
        #expect(headsAsked == ["a", "b"], "each room's head is read once")
        #expect(keysAsked == [drafts[0].key, drafts[1].key, drafts[2].key, drafts[4].key], "a key seen in the batch is not looked up")
    }
}

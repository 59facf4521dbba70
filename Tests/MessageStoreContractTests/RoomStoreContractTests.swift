import Logging
import ParleyCore
import ParleyPostgres
import ParleyProtocol
import ParleySQLite
import ParleyTesting
import Testing

extension StoreKind {
    /// Runs `body` with a new, empty room store of this kind (beside its message store, which it reads heads from).
    func withRooms<Result>(_ body: (any RoomStore, any MessageStore) async throws -> Result) async throws -> Result {
        try await withStore { messages in
            switch messages {
            case let store as SQLiteMessageStore: try await body(store.rooms, store)
            case let store as PostgresMessageStore: try await body(store.rooms, store)
            default: try await body(InMemoryRoomStore(messages: messages), messages)
            }
        }
    }
}

/// What every ``RoomStore`` promises, on each kind with the same tests: rooms, roles, bans, direct messages, known
/// users, and an access event recorded with every change other nodes must apply.
@Suite(.timeLimit(.minutes(1))) struct RoomStoreContractTests {
    private let design = RoomRecord(room: "design", kind: .room, visibility: .private)
    private let lobby = RoomRecord(room: "lobby", kind: .room, visibility: .public)

    @Test(arguments: StoreKind.available)
    func anEntryReadsTheRecordTheBanAndTheRoleTogether(kind: StoreKind) async throws {
        try await kind.withRooms { rooms, _ in
            #expect(try await rooms.entry(to: "nowhere", for: "ana") == RoomEntry(record: nil, banned: false, role: nil))
            #expect(try await rooms.createRoom(design, members: ["ana": .owner]))
            try await rooms.remove("bea", from: "design", ban: true, by: "ana", origin: "test")
            #expect(try await rooms.entry(to: "design", for: "ana") == RoomEntry(record: design, banned: false, role: .owner))
            #expect(try await rooms.entry(to: "design", for: "bea") == RoomEntry(record: design, banned: true, role: nil))
            #expect(try await rooms.entry(to: "design", for: "carl") == RoomEntry(record: design, banned: false, role: nil))
            try await rooms.remove("dan", from: "nowhere", ban: true, by: "ana", origin: "test")
            #expect(try await rooms.entry(to: "nowhere", for: "dan") == RoomEntry(record: nil, banned: true, role: nil))
        }
    }

    @Test(arguments: StoreKind.available)
    func aRoomIsCreatedOnceWithItsOwnerAndListedOnlyToThoseWhoMaySeeIt(kind: StoreKind) async throws {
        try await kind.withRooms { rooms, messages in
            #expect(try await rooms.createRoom(design, members: ["ana": .owner]))
            #expect(try await !rooms.createRoom(RoomRecord(room: "design", kind: .room, visibility: .public), members: ["bea": .owner]))
            #expect(try await rooms.room("design") == design)
            #expect(try await rooms.role(of: "ana", in: "design") == .owner)
            #expect(try await rooms.role(of: "bea", in: "design") == nil)
            #expect(try await rooms.createRoom(lobby, members: [:]))
            _ = try await messages.append([MessageDraft(room: "lobby", senderID: "guest:x", sender: "x", clientID: "1", text: "hi")])
            let anas = try await rooms.rooms(of: "ana")
            #expect(anas.map(\.room) == ["design", "lobby"])
            #expect(anas.first { $0.room == "design" }?.role == .owner)
            #expect(anas.first { $0.room == "lobby" }?.head == 1)
            #expect(try await rooms.rooms(of: "bea").map(\.room) == ["lobby"], "a private room is invisible to others")
        }
    }

    @Test(arguments: StoreKind.available)
    func invitationsKicksAndBansChangeMembershipAndAreRecordedForTheOtherNodes(kind: StoreKind) async throws {
        try await kind.withRooms { rooms, _ in
            _ = try await rooms.createRoom(design, members: ["ana": .owner])
            let start = try await rooms.latestAccessEventID()
            try await rooms.invite("bea", to: "design", by: "ana", origin: "node-a")
            #expect(try await rooms.role(of: "bea", in: "design") == .member)
            try await rooms.setRole(.moderator, of: "bea", in: "design")
            #expect(try await rooms.role(of: "bea", in: "design") == .moderator)
            try await rooms.remove("bea", from: "design", ban: false, by: "ana", origin: "node-b")
            #expect(try await rooms.role(of: "bea", in: "design") == nil)
            #expect(try await !rooms.isBanned("bea", from: "design"))
            try await rooms.remove("cid", from: "design", ban: true, by: "ana", origin: "node-a")
            #expect(try await rooms.isBanned("cid", from: "design"))
            try await rooms.unban("cid", from: "design")
            #expect(try await !rooms.isBanned("cid", from: "design"))
            try await rooms.setBannedFromServer(true, userID: "eve", by: "root", origin: "node-a")
            #expect(try await rooms.isBannedFromServer("eve"))
            try await rooms.setBannedFromServer(false, userID: "eve", by: "root", origin: "node-a")
            #expect(try await !rooms.isBannedFromServer("eve"))
            let events = try await rooms.accessEvents(after: start)
            #expect(
                events.map { "\($0.origin) \($0.event)" } == [
                    "node-a \(AccessEvent.invited(room: "design", userID: "bea", by: "ana"))",
                    "node-b \(AccessEvent.removed(room: "design", userID: "bea", reason: .kicked))",
                    "node-a \(AccessEvent.removed(room: "design", userID: "cid", reason: .banned))",
                    "node-a \(AccessEvent.bannedFromServer(userID: "eve"))",
                ]
            )
            #expect(try await rooms.latestAccessEventID() == events.last?.id)
            #expect(try await rooms.accessEvents(after: events[1].id).count == 2)
        }
    }

    @Test(arguments: StoreKind.available)
    func aDirectMessageHasTwoMembersWhoSeeEachOtherByTheirKnownNames(kind: StoreKind) async throws {
        try await kind.withRooms { rooms, _ in
            try await rooms.rememberUser(UserRef(id: "ana", name: "Ana"))
            try await rooms.rememberUser(UserRef(id: "bea", name: "Bea"))
            try await rooms.rememberUser(UserRef(id: "bea", name: "Beatriz"))
            #expect(try await rooms.knownUser("bea") == UserRef(id: "bea", name: "Beatriz"))
            #expect(try await rooms.knownUser("nobody") == nil)
            let room = DirectMessages.room(of: "ana", and: "bea")
            #expect(room == DirectMessages.room(of: "bea", and: "ana"))
            #expect(try await rooms.createRoom(RoomRecord(room: room, kind: .dm, visibility: .private), members: ["ana": .member, "bea": .member]))
            #expect(try await rooms.peer(of: "ana", in: room) == "bea")
            #expect(try await rooms.peer(of: "cid", in: room) == nil)
            let listed = try await rooms.rooms(of: "ana").first { $0.room == room }
            #expect(listed?.kind == .dm && listed?.peer == UserRef(id: "bea", name: "Beatriz"))
            #expect(try await rooms.rooms(of: "cid").isEmpty)
        }
    }
}

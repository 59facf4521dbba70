import ParleyProtocol

/// A ``RoomStore`` in memory: for tests and for trying Parley without a file. Heads come from the message store it
/// is given.
public actor InMemoryRoomStore: RoomStore {
    private var records: [String: RoomRecord] = [:]
    private var members: [String: [String: RoomRole]] = [:]
    private var bans: Set<[String]> = []
    private var serverBans: Set<String> = []
    private var users: [String: String] = [:]
    private var events: [(id: Int64, origin: String, event: AccessEvent)] = []
    private let messages: any MessageStore

    /// Creates an empty store.
    /// - Parameter messages: The history, for the rooms' heads.
    public init(messages: any MessageStore) {
        self.messages = messages
    }

    public func room(_ name: String) -> RoomRecord? {
        records[name]
    }

    public func createRoom(_ record: RoomRecord, members newMembers: [String: RoomRole]) -> Bool {
        guard records[record.room] == nil else { return false }
        records[record.room] = record
        members[record.room] = newMembers
        return true
    }

    public func role(of userID: String, in room: String) -> RoomRole? {
        members[room]?[userID]
    }

    public func setRole(_ role: RoomRole, of userID: String, in room: String) {
        members[room, default: [:]][userID] = role
    }

    public func isBanned(_ userID: String, from room: String) -> Bool {
        bans.contains([room, userID])
    }

    public func remove(_ userID: String, from room: String, ban: Bool, by: String, origin: String) {
        members[room]?[userID] = nil
        if ban { bans.insert([room, userID]) }
        record(.removed(room: room, userID: userID, reason: ban ? .banned : .kicked), origin: origin)
    }

    public func unban(_ userID: String, from room: String) {
        bans.remove([room, userID])
    }

    public func invite(_ userID: String, to room: String, by: String, origin: String) {
        members[room, default: [:]][userID] = .member
        record(.invited(room: room, userID: userID, by: by), origin: origin)
    }

    public func isBannedFromServer(_ userID: String) -> Bool {
        serverBans.contains(userID)
    }

    public func setBannedFromServer(_ banned: Bool, userID: String, by: String, origin: String) {
        if banned {
            serverBans.insert(userID)
            record(.bannedFromServer(userID: userID), origin: origin)
        } else {
            serverBans.remove(userID)
        }
    }

    public func rooms(of userID: String) async throws -> [RoomSummary] {
        var summaries: [RoomSummary] = []
        for record in records.values.sorted(by: { $0.room < $1.room }) {
            let role = members[record.room]?[userID]
            guard role != nil || record.visibility == .public else { continue }
            let peerID = record.kind == .dm ? members[record.room]?.keys.first { $0 != userID } : nil
            summaries.append(
                RoomSummary(
                    room: record.room,
                    kind: record.kind,
                    visibility: record.visibility,
                    head: try await messages.head(of: record.room),
                    members: members[record.room]?.count ?? 0,
                    role: role,
                    peer: peerID.map { UserRef(id: $0, name: users[$0] ?? $0) }
                )
            )
        }
        return summaries
    }

    public func peer(of userID: String, in room: String) -> String? {
        guard records[room]?.kind == .dm, members[room]?[userID] != nil else { return nil }
        return members[room]?.keys.first { $0 != userID }
    }

    public func knownUser(_ id: String) -> UserRef? {
        users[id].map { UserRef(id: id, name: $0) }
    }

    public func rememberUser(_ user: UserRef) {
        users[user.id] = user.name
    }

    public func accessEvents(after id: Int64) -> [(id: Int64, origin: String, event: AccessEvent)] {
        events.filter { $0.id > id }
    }

    public func latestAccessEventID() -> Int64 {
        events.last?.id ?? 0
    }

    private func record(_ event: AccessEvent, origin: String) {
        events.append((Int64(events.count + 1), origin, event))
    }
}

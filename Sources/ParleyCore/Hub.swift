import CoreMetrics
import NIOCore
import ParleyProtocol
import Synchronization

/// Rooms and their members on this node, and fan-out of committed messages to them.
///
/// Fan-out never waits: each message is encoded once per mode and frame format (``FormatEncodings``) and queued on
/// every member's bounded outbox. A member that is still replaying history after `join` gets live frames buffered instead, and
/// ``finishJoin(_:connection:deliveredThrough:)`` releases them, dropping offsets it already replayed.
///
/// Presence counts a user id once, however many connections it has in a room. In a cluster the hub also knows who is
/// present on the other nodes (``applyRemotePresence(node:room:user:present:)``) and announces its own presence changes
/// and typing to them (``Announcement``), so `members` and `presence` events span every node.
public final class Hub: Sendable {
    /// What this node tells the other nodes of a cluster.
    public enum Announcement: Sendable, Equatable {
        /// A user became present in (or absent from) a room on this node.
        case presence(room: String, user: UserRef, present: Bool)
        /// Someone on this node is typing.
        case typing(room: String, user: UserRef)
        /// A plain-mode client on this node disconnected (the other nodes' plain clients get the notice too).
        case plainClientLeft
    }

    /// How a join ends.
    public enum JoinCompletion: Sendable, Equatable {
        /// The member is live; nothing was missed.
        case live
        /// Too much arrived while replaying; replay again from the store after this offset, then finish again.
        case catchUp(after: Int64)
        /// The connection left or closed meanwhile.
        case gone
    }

    private enum Buffered {
        case message(offset: Int64, frame: OutboundFrame)
        case event(OutboundFrame)
    }

    private struct Member {
        let connection: Connection
        /// Who the connection speaks for; `nil` for plain clients, who take no part in presence.
        let user: UserRef?
        var deliveredThrough: Int64 = 0
        /// Frames held back while the member replays history; `nil` when live.
        var replayBuffer: [Buffered]?
        var replayOverflowed = false
        /// Whether the member's `joined` carried a count since counts were last sent: it gets no count before the
        /// next round, so nobody gets two count-bearing frames within a second.
        var joinedSinceCountsSent = false
        /// The count the member was last told by a large room's `joined` or `presence` count; -1 when it follows the
        /// room by per-person `presence` (a small room). Int32 fits where `Member` has padding (bytes per idle member).
        var toldCount: Int32 = -1
    }

    private struct Room {
        var members: [UInt64: Member] = [:]
        /// The users present on this node, by id, with their display name and how many connections they have here.
        var present: [String: (name: String, connections: Int)] = [:]
        /// Whether the room has more users (on every node) than the presence list limit: presence is then a count and
        /// typing reaches only the recently active. Kept (set on each join and change of presence) rather than counted,
        /// because fan-out reads it for every message.
        var large = false
        /// When each user last typed or sent here, tracked while the room is large.
        var lastActive: [String: ContinuousClock.Instant] = [:]
        /// Up to the presence list limit of the users present on this node, in member-list order: the page a large
        /// room's `joined` shows, kept as users come and go so that a join does not sort.
        var listed: [UserRef] = []

        /// Lists a newly present user if the list has room.
        mutating func list(_ user: UserRef, limit: Int) {
            guard listed.count < limit else { return }
            listed.insert(user, at: Hub.insertionIndex(of: user, in: listed))
        }

        /// Unlists a user no longer present; another present user not listed yet takes the place.
        mutating func unlist(_ userID: String, limit: Int) {
            guard let index = listed.firstIndex(where: { $0.id == userID }) else { return }
            listed.remove(at: index)
            let listedIDs = Set(listed.map(\.id))
            if let (id, presence) = present.first(where: { !listedIDs.contains($0.key) }) {
                list(UserRef(id: id, name: presence.name), limit: limit)
            }
        }

        /// Visits every member in place. (A `for index in members.values.indices` loop holds a reference to the
        /// dictionary, so its first mutation would copy every member: once per fanned-out message.)
        mutating func updateEachMember(_ body: (inout Member) -> Void) {
            var index = members.values.startIndex
            while index != members.values.endIndex {
                body(&members.values[index])
                members.values.formIndex(after: &index)
            }
        }
    }

    private struct State {
        var rooms: [String: Room] = [:]
        var connections: [UInt64: Connection] = [:]
        /// The rooms each connection is in, each once. An array, not a set: most connections are in one or a few rooms,
        /// and a one-element array is half the memory of a one-element set (issue 16's bytes per idle connection).
        var roomsOfConnection: [UInt64: [String]] = [:]
        var nextConnectionID: UInt64 = 1
        var draining = false
        /// The newest plain-mode room offset known here: where a new plain client starts.
        var plainRoomHead: Int64 = 0
        /// The users present on other nodes, per room, by id (cluster only).
        var remotePresence: [String: [String: RemotePresence]] = [:]
        /// Large rooms whose count changed since counts were last sent (``announcePresenceCounts()``).
        var changedCounts: Set<String> = []

        func isPresentElsewhere(_ userID: String, in room: String) -> Bool {
            !(remotePresence[room]?[userID]?.nodes.isEmpty ?? true)
        }

        /// Everyone in the room on every node, by id, with their display name.
        func users(of room: String) -> [String: String] {
            var users: [String: String] = [:]
            for (id, presence) in rooms[room]?.present ?? [:] { users[id] = presence.name }
            for (id, presence) in remotePresence[room] ?? [:] where !presence.nodes.isEmpty { users[id] = users[id] ?? presence.name }
            return users
        }

        /// How many users are in the room on every node; `local` stands for the room's own users while the room is
        /// out of ``rooms`` (being changed).
        func userCount(of room: String, local: [String: (name: String, connections: Int)]? = nil) -> Int {
            let local = local ?? rooms[room]?.present
            let remote = remotePresence[room]?.count { id, presence in !presence.nodes.isEmpty && local?[id] == nil } ?? 0
            return (local?.count ?? 0) + remote
        }
    }

    /// A user present in a room on other nodes: the display name it was announced with, and the nodes.
    public struct RemotePresence: Sendable, Equatable {
        /// The display name.
        public var name: String
        /// The other nodes where the user is in the room.
        public var nodes: Set<String>

        /// Creates a presence.
        public init(name: String, nodes: Set<String> = []) {
            self.name = name
            self.nodes = nodes
        }
    }

    /// The outermost lock (docs/ARCHITECTURE.md): fan-out pushes onto outboxes while holding it, so each member's
    /// frames are queued in offset order; nothing called under it may wait, take it again, or take a lock that is
    /// ever held while taking it.
    private let state = Mutex(State())
    private let limits: Limits
    /// How plain clients are served.
    public let plainMode: PlainModeSettings
    /// What the node counts.
    public let metrics: ParleyMetrics
    /// The connections' writers' wake-ups, held by a store's writer while it hands out a commit.
    public let wakeUps = DeferredWakeUps()
    private let announcements: AsyncStream<Announcement>.Continuation?

    /// Creates an empty hub.
    /// - Parameter announcements: Where presence changes and typing on this node go for the other nodes of a
    ///   cluster; `nil` on a single node.
    public init(
        limits: Limits,
        plainMode: PlainModeSettings = PlainModeSettings(),
        metrics: ParleyMetrics = .disabled,
        announcements: AsyncStream<Announcement>.Continuation? = nil
    ) {
        self.limits = limits
        self.plainMode = plainMode
        self.metrics = metrics
        self.announcements = announcements
    }

    /// Registers a new connection; a plain one is joined live to the plain-mode room at once.
    /// - Parameters:
    ///   - mode: How it speaks.
    ///   - format: How its transport frames what it is sent.
    /// - Returns: The connection, or `nil` while the hub drains for shutdown.
    public func connect(mode: Connection.Mode, format: FrameFormat = .webSocket) -> Connection? {
        state.withLock { state in
            guard !state.draining else { return nil }
            let connection = Connection(
                id: state.nextConnectionID,
                mode: mode,
                format: format,
                outbox: Outbox(maxBytes: limits.outboxBytes, maxFrames: limits.outboxFrames)
            )
            state.nextConnectionID += 1
            state.connections[connection.id] = connection
            metrics.connectionsOpen.increment()
            if format == .serverSentEvents { EventStreams.opened() }
            if mode == .plain {
                var lobby = state.rooms.removeValue(forKey: plainMode.room) ?? Room()
                var member = Member(connection: connection, user: nil)
                member.deliveredThrough = state.plainRoomHead
                lobby.members[connection.id] = member
                state.rooms[plainMode.room] = lobby
                state.roomsOfConnection[connection.id, default: []].append(plainMode.room)
                metrics.roomMemberships.increment()
            }
            return connection
        }
    }

    /// Removes a connection from every room, telling the others (presence, or the plain disconnect notice).
    public func disconnect(_ connection: Connection) {
        state.withLock { state in
            guard state.connections.removeValue(forKey: connection.id) != nil else { return }
            metrics.connectionsOpen.decrement()
            if connection.format == .serverSentEvents { EventStreams.closed() }
            for room in state.roomsOfConnection.removeValue(forKey: connection.id) ?? [] {
                removeMember(connection, from: room, in: &state)
            }
            if connection.mode == .plain {
                announcements?.yield(.plainClientLeft)
                sendPlainDisconnectNotice(in: state)
            }
        }
        connection.outbox.finish()
    }

    /// Tells this node's plain clients that a plain client on another node disconnected.
    public func remotePlainClientLeft() {
        state.withLock { sendPlainDisconnectNotice(in: $0) }
    }

    private func sendPlainDisconnectNotice(in state: State) {
        guard let lobby = state.rooms[plainMode.room] else { return }
        let notice = FormatEncodings(text: plainMode.disconnectNotice)
        for member in lobby.members.values where member.connection.mode == .plain {
            member.connection.outbox.push(notice[member.connection.format])
        }
    }

    /// Who is in a room, as `joined` tells it: everyone, sorted by display name, in a small room; in a large one a
    /// page of at most the presence list limit (the joiner first among them) and how many there are.
    public struct RoomUsers: Sendable, Equatable {
        /// The users listed, sorted by display name, then id.
        public var users: [UserRef]
        /// For a large room, how many users it has on every node.
        public var count: Int?
    }

    /// Starts joining `room`: from now on live frames for it are held for the connection until
    /// ``finishJoin(_:connection:deliveredThrough:)``. Joining a room again restarts its replay.
    /// - Returns: The users in the room, the joiner included.
    public func beginJoin(_ room: String, connection: Connection, user: UserRef) -> RoomUsers {
        state.withLock { state in
            guard state.connections[connection.id] != nil else { return RoomUsers(users: [], count: nil) }
            var roomState = state.rooms.removeValue(forKey: room) ?? Room()
            if roomState.members[connection.id] == nil {
                roomState.members[connection.id] = Member(connection: connection, user: user)
                let connections = (roomState.present[user.id]?.connections ?? 0) + 1
                roomState.present[user.id] = (roomState.present[user.id]?.name ?? user.name, connections)
                if connections == 1 { roomState.list(user, limit: limits.presenceListLimit) }
                state.roomsOfConnection[connection.id, default: []].append(room)
                metrics.roomMemberships.increment()
                if connections == 1 {
                    announcements?.yield(.presence(room: room, user: user, present: true))
                    if !state.isPresentElsewhere(user.id, in: room) {
                        let count = state.userCount(of: room, local: roomState.present)
                        announce(.join, of: user, in: room, &roomState, countBefore: count - 1, countAfter: count, state: &state)
                    }
                }
            }
            roomState.members[connection.id]?.replayBuffer = []
            roomState.members[connection.id]?.replayOverflowed = false
            // Also when the joiner was already present on another node (no announcement): a room new on this node
            // may be large already.
            let count = state.userCount(of: room, local: roomState.present)
            roomState.large = count > limits.presenceListLimit
            if roomState.large {
                // The joined carries the count (``usersAsJoinedTellsThem``).
                roomState.members[connection.id]?.toldCount = Int32(clamping: count)
                roomState.members[connection.id]?.joinedSinceCountsSent = true
            }
            state.rooms[room] = roomState
            return usersAsJoinedTellsThem(room, joiner: user, state: state)
        }
    }

    private func usersAsJoinedTellsThem(_ room: String, joiner: UserRef, state: State) -> RoomUsers {
        let limit = limits.presenceListLimit
        let count = state.userCount(of: room)
        guard count > limit else {
            let everyone = state.users(of: room).map { UserRef(id: $0.key, name: $0.value) }
            return RoomUsers(users: everyone.sorted(by: Self.listedFirst), count: nil)
        }
        // A page, not the whole room: sorting ten thousand users for every join would make filling a room quadratic.
        // The room keeps a sorted page of its local users; the joiner is always on it.
        var page = state.rooms[room]?.listed ?? []
        if !page.contains(where: { $0.id == joiner.id }) {
            let listedJoiner = UserRef(id: joiner.id, name: state.rooms[room]?.present[joiner.id]?.name ?? joiner.name)
            page.insert(listedJoiner, at: Self.insertionIndex(of: listedJoiner, in: page))
            if page.count > limit, let last = page.lastIndex(where: { $0.id != joiner.id }) { page.remove(at: last) }
        }
        guard page.count < limit else { return RoomUsers(users: page, count: count) }
        // Fewer users here than a page: the others are on other nodes.
        for (id, presence) in state.remotePresence[room] ?? [:] where page.count < limit && !presence.nodes.isEmpty {
            if id != joiner.id, state.rooms[room]?.present[id] == nil { page.append(UserRef(id: id, name: presence.name)) }
        }
        return RoomUsers(users: page.sorted(by: Self.listedFirst), count: count)
    }

    /// Where `user` goes in a list in member-list order.
    fileprivate static func insertionIndex(of user: UserRef, in list: [UserRef]) -> Int {
        var low = 0
        var high = list.count
        while low < high {
            let middle = (low + high) / 2
            if listedFirst(list[middle], user) { low = middle + 1 } else { high = middle }
        }
        return low
    }

    /// The order of member lists: by display name, then id.
    @inline(__always)
    private static func listedFirst(_ first: UserRef, _ second: UserRef) -> Bool {
        first.name == second.name ? first.id < second.id : first.name < second.name
    }

    /// Whether `userID` is in `room` on any node.
    public func isPresent(_ userID: String, in room: String) -> Bool {
        state.withLock { isPresentAnywhere(userID, in: room, $0) }
    }

    /// How many users are in `room` on every node.
    public func userCount(in room: String) -> Int {
        state.withLock { $0.userCount(of: room) }
    }

    /// A page of the users in `room` on every node, by id: those after `after`, at most `limit`, and the id to page
    /// on from (`nil` when the page reaches the end).
    public func users(in room: String, after: String?, limit: Int) -> (users: [UserRef], next: String?) {
        state.withLock { state in
            let later = state.users(of: room).filter { after == nil || $0.key > after! }.sorted { $0.key < $1.key }
            let page = later.prefix(limit).map { UserRef(id: $0.key, name: $0.value) }
            return (page, later.count > limit ? page.last?.id : nil)
        }
    }

    /// Sends each member of a large room whose count changed since the last call the new count, once; the server
    /// calls it every second, so presence in a large room costs each member at most one frame a second. A member whose
    /// `joined` (which carries the count) came since the last call is told at the next one, if the count moved.
    public func announcePresenceCounts() {
        state.withLock { state in
            let now = ContinuousClock.now
            var stillOwed: [String] = []
            for room in state.changedCounts {
                guard var roomState = state.rooms.removeValue(forKey: room) else { continue }
                let count = state.userCount(of: room, local: roomState.present)
                let large = count > limits.presenceListLimit
                let told = Int32(clamping: count)
                var frames: FormatEncodings?
                var owed = false
                roomState.updateEachMember { member in
                    guard member.user != nil else { return }
                    if member.joinedSinceCountsSent, large {
                        member.joinedSinceCountsSent = false
                        owed = owed || member.toldCount != told
                        return
                    }
                    // Back at or under the limit, the room is small again: each join and leave is its own frame.
                    defer { member.toldCount = large ? told : -1 }
                    member.joinedSinceCountsSent = false
                    guard member.toldCount != told else { return }
                    if frames == nil { frames = FormatEncodings(.presenceCount(room: room, count: count)) }
                    sendEvent(frames![member.connection.format], to: &member)
                }
                if owed { stillOwed.append(room) }
                roomState.lastActive = roomState.lastActive.filter { now - $0.value < Self.activeWindow }
                state.rooms[room] = roomState
            }
            state.changedCounts = Set(stillOwed)
        }
    }

    /// How long a user who typed or sent in a large room counts as active there (and so receives its typing).
    static let activeWindow: Duration = .seconds(60)

    /// Tells the room that `user` joined or left: one `presence` frame per change in a small room; in a large one
    /// (before or after the change) only a mark that its count must be sent (see ``announcePresenceCounts()``).
    private func announce(
        _ change: PresenceChange,
        of user: UserRef,
        in room: String,
        _ roomState: inout Room,
        countBefore: Int,
        countAfter: Int,
        state: inout State
    ) {
        let limit = limits.presenceListLimit
        roomState.large = countAfter > limit
        guard countBefore <= limit, countAfter <= limit else {
            state.changedCounts.insert(room)
            return
        }
        let event = FormatEncodings(.presence(room: room, event: change, user: user))
        send(event, toOthersThan: user.id, in: &roomState)
    }

    /// Ends a join: releases the frames held during replay that are newer than `deliveredThrough`, then the
    /// member is live.
    public func finishJoin(_ room: String, connection: Connection, deliveredThrough: Int64) -> JoinCompletion {
        state.withLock { state in
            guard var member = state.rooms[room]?.members[connection.id], let buffered = member.replayBuffer else {
                return .gone
            }
            member.deliveredThrough = max(member.deliveredThrough, deliveredThrough)
            if member.replayOverflowed {
                member.replayBuffer = []
                member.replayOverflowed = false
                state.rooms[room]?.members[connection.id] = member
                return .catchUp(after: member.deliveredThrough)
            }
            for item in buffered {
                switch item {
                case .message(let offset, let frame) where offset > member.deliveredThrough:
                    member.deliveredThrough = offset
                    connection.outbox.push(frame)
                case .message:
                    continue
                case .event(let frame):
                    connection.outbox.push(frame)
                }
            }
            member.replayBuffer = nil
            state.rooms[room]?.members[connection.id] = member
            return .live
        }
    }

    /// Leaves `room`. Returns `false` if the connection was not in it.
    public func leave(_ room: String, connection: Connection) -> Bool {
        state.withLock { state in
            guard state.rooms[room]?.members[connection.id] != nil else { return false }
            state.roomsOfConnection[connection.id]?.removeAll { $0 == room }
            removeMember(connection, from: room, in: &state)
            return true
        }
    }

    /// Whether the connection is a member of `room`.
    public func isMember(_ room: String, connection: Connection) -> Bool {
        state.withLock { $0.rooms[room]?.members[connection.id] != nil }
    }

    /// How many rooms the connection is in (joins in progress included).
    public func roomCount(of connection: Connection) -> Int {
        state.withLock { $0.roomsOfConnection[connection.id]?.count ?? 0 }
    }

    /// Takes every connection of `userID` on this node out of `room` at once: each gets `removed`, loses what was
    /// still queued for the room, and receives nothing more from it.
    /// - Returns: How many connections were removed.
    @discardableResult
    public func remove(userID: String, from room: String, reason: RemovalReason) -> Int {
        state.withLock { state in
            let connections = state.rooms[room]?.members.values.filter { $0.user?.id == userID }.map(\.connection) ?? []
            for connection in connections {
                state.roomsOfConnection[connection.id]?.removeAll { $0 == room }
                removeMember(connection, from: room, in: &state)
                connection.outbox.discard(room: room)
                connection.outbox.push(connection.format.encode(.removed(room: room, reason: reason)))
            }
            return connections.count
        }
    }

    /// The connections on this node that speak for `userID` in some room (a user in no room is found through the
    /// signed-in connections instead).
    public func connections(of userID: String) -> [Connection] {
        state.withLock { state in
            var found: [UInt64: Connection] = [:]
            for room in state.rooms.values {
                for member in room.members.values where member.user?.id == userID { found[member.connection.id] = member.connection }
            }
            return Array(found.values)
        }
    }

    /// Tells the others in `room` (everyone but the typist's own connections), on every node, that `user` is typing.
    public func typing(in room: String, user: UserRef) {
        announcements?.yield(.typing(room: room, user: user))
        remoteTyping(in: room, user: user)
    }

    /// Tells the members on this node, but `user`'s own connections, that `user` (on another node) is typing.
    public func remoteTyping(in room: String, user: UserRef) {
        let frame = FormatEncodings(.typing(room: room, from: user))
        state.withLock { state in
            guard var roomState = state.rooms.removeValue(forKey: room) else { return }
            if roomState.large {
                // A large room does not fan out every keystroke: only those who typed or sent lately see it.
                let now = ContinuousClock.now
                roomState.lastActive[user.id] = now
                let active = roomState.lastActive
                send(frame, toOthersThan: user.id, in: &roomState, bufferWhileReplaying: false) { id in
                    active[id].map { now - $0 < Self.activeWindow } ?? false
                }
            } else {
                send(frame, toOthersThan: user.id, in: &roomState, bufferWhileReplaying: false)
            }
            state.rooms[room] = roomState
        }
    }

    /// Fans out newly committed messages, each encoded once per mode and frame format. Offsets a member already has
    /// are skipped.
    public func deliver(_ messages: [StoredMessage]) {
        for message in messages {
            let frames = FormatEncodings(message.event)
            // Plain clients get texts: a deletion entry is nothing to them.
            let plainFrames =
                message.room == plainMode.room && message.target == nil
                ? FormatEncodings(text: plainMode.messagePrefix + message.text) : nil
            let (delivered, gaps) = state.withLock { state -> (Int, Int) in
                // Taken out of the dictionary, not copied: mutating a copy would copy every member (copy-on-write).
                if message.room == plainMode.room { state.plainRoomHead = max(state.plainRoomHead, message.offset) }
                guard var room = state.rooms.removeValue(forKey: message.room) else { return (0, 0) }
                if room.large { room.lastActive[message.senderID] = ContinuousClock.now }
                var delivered = 0
                var gaps = 0
                room.updateEachMember { member in
                    guard message.offset > member.deliveredThrough else { return }
                    if member.replayBuffer != nil {
                        bufferWhileReplaying(.message(offset: message.offset, frame: frames[member.connection.format]), for: &member)
                        return
                    }
                    // Offsets have no holes and each room's messages come in order: a parley.v1 member's next one is
                    // always its last plus one. (A plain client is sent what was stored after it connected.)
                    if member.connection.mode == .parley, message.offset != member.deliveredThrough + 1 { gaps += 1 }
                    member.deliveredThrough = message.offset
                    switch member.connection.mode {
                    case .parley: member.connection.outbox.push(frames[member.connection.format])
                    case .plain: if let plainFrames { member.connection.outbox.push(plainFrames[member.connection.format]) }
                    }
                    delivered += 1
                }
                state.rooms[message.room] = room
                return (delivered, gaps)
            }
            if delivered > 0 { metrics.deliveries.increment(by: delivered) }
            if gaps > 0 { metrics.deliveryGaps.increment(by: gaps) }
        }
    }

    // MARK: Cluster

    /// Records that `user` became present in (or absent from) `room` on another node, telling this node's members
    /// when that changes who is in the room.
    public func applyRemotePresence(node: String, room: String, user: UserRef, present: Bool) {
        state.withLock { state in
            let wasPresent = isPresentAnywhere(user.id, in: room, state)
            var presence = state.remotePresence[room]?[user.id] ?? RemotePresence(name: user.name)
            if present { presence.nodes.insert(node) } else { presence.nodes.remove(node) }
            state.remotePresence[room, default: [:]][user.id] = presence.nodes.isEmpty ? nil : presence
            if state.remotePresence[room]?.isEmpty == true { state.remotePresence[room] = nil }
            announceChange(of: user, in: room, wasPresent: wasPresent, state: &state)
        }
    }

    /// Replaces everything known about the other nodes with `snapshot` (after connecting to the cluster, or after
    /// missing its events), telling members of the differences.
    /// - Parameter snapshot: Per room, per user id, the user's name and the other nodes where it is present.
    public func replaceRemotePresence(_ snapshot: [String: [String: RemotePresence]]) {
        state.withLock { state in
            var affected: [(room: String, user: UserRef, wasPresent: Bool)] = []
            for (room, users) in state.remotePresence.merging(snapshot, uniquingKeysWith: { old, new in old.merging(new) { $1 } }) {
                for (id, presence) in users {
                    affected.append((room, UserRef(id: id, name: presence.name), isPresentAnywhere(id, in: room, state)))
                }
            }
            state.remotePresence = snapshot.mapValues { $0.filter { !$0.value.nodes.isEmpty } }.filter { !$0.value.isEmpty }
            for change in affected {
                announceChange(of: change.user, in: change.room, wasPresent: change.wasPresent, state: &state)
            }
        }
    }

    /// Forgets every presence on `node` (it stopped or crashed), telling members who left.
    public func removeRemoteNode(_ node: String) {
        state.withLock { state in
            var affected: [(room: String, user: UserRef)] = []
            for (room, users) in state.remotePresence {
                for (id, presence) in users where presence.nodes.contains(node) {
                    affected.append((room, UserRef(id: id, name: presence.name)))
                }
            }
            for (room, user) in affected {
                let wasPresent = isPresentAnywhere(user.id, in: room, state)
                state.remotePresence[room]?[user.id]?.nodes.remove(node)
                if state.remotePresence[room]?[user.id]?.nodes.isEmpty == true { state.remotePresence[room]?[user.id] = nil }
                if state.remotePresence[room]?.isEmpty == true { state.remotePresence[room] = nil }
                announceChange(of: user, in: room, wasPresent: wasPresent, state: &state)
            }
        }
    }

    /// The users present in each room on this node (what the other nodes must know).
    public func localPresence() -> [(room: String, user: UserRef)] {
        state.withLock { state in
            state.rooms.flatMap { room, roomState in
                roomState.present.map { (room, UserRef(id: $0.key, name: $0.value.name)) }
            }
        }
    }

    /// Records the plain-mode room's head as read from the store, so plain clients connecting from now on start there.
    public func advancePlainRoomHead(to offset: Int64) {
        state.withLock { $0.plainRoomHead = max($0.plainRoomHead, offset) }
    }

    /// Whether any connection on this node is in `room`.
    public func hasMembers(_ room: String) -> Bool {
        state.withLock { $0.rooms[room] != nil }
    }

    /// Prepares for catching up after fan-out between nodes was interrupted: members still replaying history will
    /// replay again from the store when they finish, and the result says, per room, the offset after which the
    /// live members may have missed messages.
    public func prepareCatchUp() -> [String: Int64] {
        state.withLock { state in
            var points: [String: Int64] = [:]
            for room in Array(state.rooms.keys) {
                guard var roomState = state.rooms.removeValue(forKey: room) else { continue }
                var point: Int64?
                roomState.updateEachMember { member in
                    if member.replayBuffer != nil {
                        member.replayBuffer = []
                        member.replayOverflowed = true
                    } else {
                        point = min(point ?? .max, member.deliveredThrough)
                    }
                }
                if let point { points[room] = point }
                state.rooms[room] = roomState
            }
            return points
        }
    }

    private func isPresentAnywhere(_ userID: String, in room: String, _ state: State) -> Bool {
        state.rooms[room]?.present[userID] != nil || state.isPresentElsewhere(userID, in: room)
    }

    private func announceChange(of user: UserRef, in room: String, wasPresent: Bool, state: inout State) {
        let isPresent = isPresentAnywhere(user.id, in: room, state)
        guard isPresent != wasPresent, var roomState = state.rooms.removeValue(forKey: room) else { return }
        let count = state.userCount(of: room, local: roomState.present)
        let before = isPresent ? count - 1 : count + 1
        announce(isPresent ? .join : .leave, of: user, in: room, &roomState, countBefore: before, countAfter: count, state: &state)
        state.rooms[room] = roomState
    }

    /// Starts draining for shutdown: refuses new connections and asks every connection to close with 1001.
    public func drain() {
        state.withLock { $0.draining = true }
        closeAll(.goingAway, reason: "server shutting down")
    }

    /// Asks every connection open now to close with `code` (they reconnect and resume, elsewhere if need be).
    public func closeAll(_ code: CloseCode, reason: String) {
        for connection in state.withLock({ Array($0.connections.values) }) {
            connection.outbox.close(code, reason: reason)
        }
    }

    /// How many connections are open.
    public var connectionCount: Int {
        state.withLock { $0.connections.count }
    }

    private func removeMember(_ connection: Connection, from room: String, in state: inout State) {
        guard var roomState = state.rooms.removeValue(forKey: room) else { return }
        guard let member = roomState.members.removeValue(forKey: connection.id) else {
            state.rooms[room] = roomState
            return
        }
        metrics.roomMemberships.decrement()
        if let user = member.user, let present = roomState.present[user.id] {
            let remaining = present.connections - 1
            roomState.present[user.id] = remaining > 0 ? (present.name, remaining) : nil
            if remaining == 0 {
                roomState.unlist(user.id, limit: limits.presenceListLimit)
                let left = UserRef(id: user.id, name: present.name)
                announcements?.yield(.presence(room: room, user: left, present: false))
                if !state.isPresentElsewhere(user.id, in: room) {
                    let count = state.userCount(of: room, local: roomState.present)
                    announce(.leave, of: left, in: room, &roomState, countBefore: count + 1, countAfter: count, state: &state)
                }
            }
        }
        state.rooms[room] = roomState.members.isEmpty ? nil : roomState
    }

    /// Sends an event to the parley.v1 members of a room whose user id is not `userID` (and, if given, for whom
    /// `recipient` holds).
    private func send(
        _ frames: FormatEncodings,
        toOthersThan userID: String,
        in room: inout Room,
        bufferWhileReplaying buffer: Bool = true,
        where recipient: ((String) -> Bool)? = nil
    ) {
        room.updateEachMember { member in
            guard let user = member.user, user.id != userID, recipient?(user.id) ?? true else { return }
            sendEvent(frames[member.connection.format], to: &member, bufferWhileReplaying: buffer)
        }
    }

    /// Pushes an event to a live member; holds it for one still replaying (when `buffer`), else drops it.
    private func sendEvent(_ frame: OutboundFrame, to member: inout Member, bufferWhileReplaying buffer: Bool = true) {
        if member.replayBuffer != nil {
            if buffer { bufferWhileReplaying(.event(frame), for: &member) }
        } else {
            member.connection.outbox.push(frame)
        }
    }

    private func bufferWhileReplaying(_ item: Buffered, for member: inout Member) {
        guard !member.replayOverflowed else { return }
        if member.replayBuffer!.count >= limits.outboxFrames {
            member.replayBuffer = []
            member.replayOverflowed = true
        } else {
            member.replayBuffer!.append(item)
        }
    }
}

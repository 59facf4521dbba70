import CoreMetrics
import NIOCore
import ParleyProtocol
import Synchronization

/// Rooms and their members on this node, and fan-out of committed messages to them.
///
/// Fan-out never waits: each message is encoded once (once per mode) and queued on every member's bounded
/// outbox. A member that is still replaying history after `join` gets live frames buffered instead, and
/// ``finishJoin(_:connection:deliveredThrough:)`` releases them, dropping offsets it already replayed.
public final class Hub: Sendable {
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
        case message(offset: Int64, frame: ByteBuffer)
        case event(ByteBuffer)
    }

    private struct Member {
        let connection: Connection
        /// The display name; `nil` for plain clients, who take no part in presence.
        let name: String?
        var deliveredThrough: Int64 = 0
        /// Frames held back while the member replays history; `nil` when live.
        var replayBuffer: [Buffered]?
        var replayOverflowed = false
    }

    private struct Room {
        var members: [UInt64: Member] = [:]
        var nameCounts: [String: Int] = [:]

        var memberNames: [String] { nameCounts.keys.sorted() }
    }

    private struct State {
        var rooms: [String: Room] = [:]
        var connections: [UInt64: Connection] = [:]
        var roomsOfConnection: [UInt64: Set<String>] = [:]
        var nextConnectionID: UInt64 = 1
        var draining = false
    }

    private let state = Mutex(State())
    private let limits: Limits
    /// How plain clients are served.
    public let plainMode: PlainModeSettings
    /// What the node counts.
    public let metrics: ParleyMetrics

    /// Creates an empty hub.
    public init(limits: Limits, plainMode: PlainModeSettings = PlainModeSettings(), metrics: ParleyMetrics = .disabled) {
        self.limits = limits
        self.plainMode = plainMode
        self.metrics = metrics
    }

    /// Registers a new connection; a plain one is joined live to the plain-mode room at once.
    /// - Returns: The connection, or `nil` while the hub drains for shutdown.
    public func connect(mode: Connection.Mode) -> Connection? {
        state.withLock { state in
            guard !state.draining else { return nil }
            let connection = Connection(
                id: state.nextConnectionID,
                mode: mode,
                outbox: Outbox(maxBytes: limits.outboxBytes, maxFrames: limits.outboxFrames)
            )
            state.nextConnectionID += 1
            state.connections[connection.id] = connection
            metrics.connectionsOpen.increment()
            if mode == .plain {
                state.rooms[plainMode.room, default: Room()].members[connection.id] = Member(connection: connection, name: nil)
                state.roomsOfConnection[connection.id, default: []].insert(plainMode.room)
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
            for room in state.roomsOfConnection.removeValue(forKey: connection.id) ?? [] {
                removeMember(connection, from: room, in: &state)
            }
            if connection.mode == .plain, let lobby = state.rooms[plainMode.room] {
                let notice = ByteBuffer(string: plainMode.disconnectNotice)
                for member in lobby.members.values where member.connection.mode == .plain {
                    member.connection.outbox.push(notice)
                }
            }
        }
        connection.outbox.finish()
    }

    /// Starts joining `room`: from now on live frames for it are held for the connection until
    /// ``finishJoin(_:connection:deliveredThrough:)``. Joining a room again restarts its replay.
    /// - Returns: The display names in the room, the joiner's included.
    public func beginJoin(_ room: String, connection: Connection, name: String) -> [String] {
        state.withLock { state in
            guard state.connections[connection.id] != nil else { return [] }
            var roomState = state.rooms.removeValue(forKey: room) ?? Room()
            if roomState.members[connection.id] == nil {
                roomState.members[connection.id] = Member(connection: connection, name: name)
                roomState.nameCounts[name, default: 0] += 1
                state.roomsOfConnection[connection.id, default: []].insert(room)
                metrics.roomMemberships.increment()
                if roomState.nameCounts[name] == 1 {
                    let event = Frame.encode(.presence(room: room, event: .join, user: name))
                    send(event, toOthersThan: name, in: &roomState)
                }
            }
            roomState.members[connection.id]?.replayBuffer = []
            roomState.members[connection.id]?.replayOverflowed = false
            let names = roomState.memberNames
            state.rooms[room] = roomState
            return names
        }
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
            state.roomsOfConnection[connection.id]?.remove(room)
            removeMember(connection, from: room, in: &state)
            return true
        }
    }

    /// Whether the connection is a member of `room`.
    public func isMember(_ room: String, connection: Connection) -> Bool {
        state.withLock { $0.rooms[room]?.members[connection.id] != nil }
    }

    /// Tells the others in `room` (everyone but the sender's name) that `name` is typing.
    public func typing(in room: String, name: String) {
        let frame = Frame.encode(.typing(room: room, from: name))
        state.withLock { state in
            guard var roomState = state.rooms.removeValue(forKey: room) else { return }
            send(frame, toOthersThan: name, in: &roomState, bufferWhileReplaying: false)
            state.rooms[room] = roomState
        }
    }

    /// Fans out newly committed messages, each encoded once per mode. Offsets a member already has are skipped.
    public func deliver(_ messages: [StoredMessage]) {
        for message in messages {
            let frame = Frame.encode(.message(message.chatMessage))
            let plainFrame = message.room == plainMode.room ? ByteBuffer(string: plainMode.messagePrefix + message.text) : nil
            let delivered = state.withLock { state -> Int in
                // Taken out of the dictionary, not copied: mutating a copy would copy every member (copy-on-write).
                guard var room = state.rooms.removeValue(forKey: message.room) else { return 0 }
                var delivered = 0
                for index in room.members.values.indices {
                    let member = room.members.values[index]
                    guard message.offset > member.deliveredThrough else { continue }
                    if member.replayBuffer != nil {
                        bufferWhileReplaying(.message(offset: message.offset, frame: frame), for: &room.members.values[index])
                        continue
                    }
                    room.members.values[index].deliveredThrough = message.offset
                    switch member.connection.mode {
                    case .parley: member.connection.outbox.push(frame)
                    case .plain: if let plainFrame { member.connection.outbox.push(plainFrame) }
                    }
                    delivered += 1
                }
                state.rooms[message.room] = room
                return delivered
            }
            if delivered > 0 { metrics.deliveries.increment(by: delivered) }
        }
    }

    /// Starts draining for shutdown: refuses new connections and asks every connection to close with 1001.
    public func drain() {
        let connections = state.withLock { state in
            state.draining = true
            return Array(state.connections.values)
        }
        for connection in connections {
            connection.outbox.close(.goingAway, reason: "server shutting down")
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
        if let name = member.name {
            let remaining = (roomState.nameCounts[name] ?? 1) - 1
            roomState.nameCounts[name] = remaining > 0 ? remaining : nil
            if remaining == 0 {
                let event = Frame.encode(.presence(room: room, event: .leave, user: name))
                send(event, toOthersThan: name, in: &roomState)
            }
        }
        state.rooms[room] = roomState.members.isEmpty ? nil : roomState
    }

    /// Sends an event to the parley.v1 members of a room whose name is not `name`.
    private func send(_ frame: ByteBuffer, toOthersThan name: String, in room: inout Room, bufferWhileReplaying buffer: Bool = true) {
        for index in room.members.values.indices {
            let member = room.members.values[index]
            guard let memberName = member.name, memberName != name else { continue }
            if member.replayBuffer != nil {
                if buffer { bufferWhileReplaying(.event(frame), for: &room.members.values[index]) }
            } else {
                member.connection.outbox.push(frame)
            }
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

import ParleyProtocol

/// What one user may do in rooms, whatever the transport: the access rules of rooms and moderation, and the
/// commands that need no connection (history, deletion, moderation, the room list). WebSocket sessions and the
/// HTTP API both go through it, so a rule cannot hold on one and not the other.
///
/// Every refusal is a `CommandRejection` with the protocol's code.
public struct RoomActions: Sendable {
    /// The hub, stores and limits of the server.
    public let environment: Session.Environment
    /// Who acts.
    public let user: User
    /// Whether the user is a server admin, who acts as owner everywhere.
    public let isAdmin: Bool

    /// - Parameters:
    ///   - environment: The hub, stores and limits of the server.
    ///   - user: Who acts.
    ///   - isAdmin: Whether the user is a server admin.
    public init(environment: Session.Environment, user: User, isAdmin: Bool) {
        self.environment = environment
        self.user = user
        self.isAdmin = isAdmin
    }

    private var hub: Hub { environment.hub }
    private var rooms: any RoomStore { environment.rooms }

    // MARK: Checks

    /// Refuses a room name the protocol does not allow (`invalid_room`).
    public static func validate(room: String) throws {
        guard Names.isValidRoom(room) else {
            throw CommandRejection(.invalidRoom, "a room name is 1–64 characters of A-Z a-z 0-9 - _ .")
        }
    }

    /// Refuses a message text that is empty, holds U+0000 or is over the size limit.
    public static func validate(text: String, limits: Limits) throws {
        guard !text.isEmpty else { throw CommandRejection(.badRequest, "field \"text\" must not be empty") }
        guard !text.utf8.contains(0) else { throw CommandRejection(.badRequest, "field \"text\" must not contain U+0000") }
        guard text.utf8.count <= limits.maxTextBytes else {
            throw CommandRejection(.tooLarge, "text is over \(limits.maxTextBytes) bytes")
        }
    }

    /// Refuses guests (`forbidden`): they cannot `what`.
    public func requireSignedIn(_ what: String) throws {
        guard !user.guest else { throw CommandRejection(.forbidden, "guests cannot \(what); sign in first") }
    }

    /// Refuses anyone but a server admin (`forbidden`).
    public func requireAdmin(_ what: String) throws {
        guard isAdmin else { throw CommandRejection(.forbidden, "only server admins \(what)") }
    }

    /// The user's role in the room, an admin's being the owner's.
    public func effectiveRole(in room: String) async throws -> RoomRole? {
        if isAdmin { return .owner }
        return try await rooms.role(of: user.id, in: room)
    }

    /// Checks that the user may enter (join, read) the room: not banned from it, and a member of a private room or a
    /// direct message; admins may enter every room.
    /// - Returns: The room's record (`nil` for a public room nobody created).
    @discardableResult
    public func requireEntry(to room: String) async throws -> RoomRecord? {
        let entry = try await rooms.entry(to: room, for: user.id)
        guard !isAdmin else { return entry.record }
        if entry.banned {
            throw CommandRejection(.forbidden, "you are banned from \(room)")
        }
        if let record = entry.record, record.visibility == .private, entry.role == nil {
            throw CommandRejection(.forbidden, "\(room) is private: only its members may enter")
        }
        return entry.record
    }

    /// Checks that the user moderates the room (owner, moderator or admin).
    /// - Returns: The room's record.
    @discardableResult
    public func requireModerator(of room: String) async throws -> RoomRecord {
        guard let record = try await rooms.room(room), record.kind == .room,
            try await effectiveRole(in: room)?.moderates == true
        else {
            throw CommandRejection(.forbidden, "only the room's owner and moderators may do that")
        }
        return record
    }

    // MARK: Reading

    /// A page of history: before `before` (the newest page without it), at most the history page limit and within
    /// the page budget.
    public func history(in room: String, before: Int64?, limit: Int?) async throws -> [ChatMessage] {
        try Self.validate(room: room)
        try await requireEntry(to: room)
        return Session.trimmedToBudget(try await environment.store.messages(in: room, before: before, limit: pageSize(limit)))
    }

    /// The messages after `offset`, oldest first, at most the history page limit and within the page budget.
    public func messages(in room: String, after offset: Int64, limit: Int?) async throws -> [ChatMessage] {
        try Self.validate(room: room)
        try await requireEntry(to: room)
        return Session.trimmedFromOldest(try await environment.store.messages(in: room, after: offset, limit: pageSize(limit)))
    }

    /// How many messages a page asked for with `limit` holds: the join replay's count by default, at most the history
    /// page limit.
    private func pageSize(_ limit: Int?) -> Int {
        min(limit ?? environment.limits.joinReplayCount, environment.limits.maxHistoryPage)
    }

    /// The rooms the user belongs to and the public ones; a public room's members are whoever is in it now (joining
    /// one records no membership).
    public func roomList() async throws -> [RoomSummary] {
        try await rooms.rooms(of: user.id).map { summary in
            var summary = summary
            if summary.visibility == .public { summary.members = hub.userCount(in: summary.room) }
            return summary
        }
    }

    // MARK: Changing rooms

    /// Creates a room owned by the user.
    public func create(_ room: String, visibility: RoomVisibility) async throws {
        try Self.validate(room: room)
        try requireSignedIn("create rooms")
        guard !DirectMessages.isReserved(room) else {
            throw CommandRejection(.forbidden, "room names starting with \(DirectMessages.prefix) are kept for direct messages")
        }
        let record = RoomRecord(room: room, kind: .room, visibility: visibility)
        guard try await rooms.createRoom(record, members: [user.id: .owner]) else {
            throw CommandRejection(.roomExists, "a room named \(room) exists; pick another name")
        }
    }

    /// Opens the user's direct messages with `peerID` (making them the first time, the peer being told as of an
    /// invitation).
    /// - Returns: The room of the direct messages.
    public func openDirectMessages(with peerID: String) async throws -> String {
        try requireSignedIn("open direct messages")
        guard peerID != user.id else { throw CommandRejection(.badRequest, "a direct message needs another user") }
        guard let peer = try await rooms.knownUser(peerID) else {
            throw CommandRejection(.noSuchUser, "there is no user \(peerID)")
        }
        let room = DirectMessages.room(of: user.id, and: peer.id)
        let opened = try await rooms.createRoom(
            RoomRecord(room: room, kind: .dm, visibility: .private),
            members: [user.id: .member, peer.id: .member]
        )
        if opened {
            // The other person learns of it as of an invitation (on every node), so their room list can show it.
            try await rooms.invite(peer.id, to: room, by: user.id, origin: environment.node)
            AccessEvents.apply(.invited(room: room, userID: peer.id, by: user.id), hub: hub, signedIn: environment.signedIn)
        }
        return room
    }

    /// Invites a known, signed-in user into a private room the user moderates.
    public func invite(_ invitee: String, to room: String) async throws {
        try Self.validate(room: room)
        try requireSignedIn("invite")
        let record = try await requireModerator(of: room)
        guard record.kind == .room, record.visibility == .private else {
            throw CommandRejection(.badRequest, "only private rooms take invitations; anyone may join \(room)")
        }
        guard !invitee.hasPrefix(User.guestIDPrefix), try await rooms.knownUser(invitee) != nil else {
            throw invitee.hasPrefix(User.guestIDPrefix)
                ? CommandRejection(.forbidden, "guests cannot be invited; they may join public rooms")
                : CommandRejection(.noSuchUser, "there is no user \(invitee)")
        }
        if try await rooms.role(of: invitee, in: room) == nil {
            try await rooms.invite(invitee, to: room, by: user.id, origin: environment.node)
            AccessEvents.apply(.invited(room: room, userID: invitee, by: user.id), hub: hub, signedIn: environment.signedIn)
        }
    }

    /// Kicks or bans `target` from the room: a moderator may remove members, the owner moderators too, an admin
    /// anyone; a ban also keeps out someone who is not a member.
    public func remove(_ target: String, from room: String, ban: Bool) async throws {
        try Self.validate(room: room)
        try await requireModerator(of: room)
        let role = try await effectiveRole(in: room)
        let targetRole = try await rooms.role(of: target, in: room)
        guard ban || targetRole != nil || hub.isPresent(target, in: room) else {
            throw CommandRejection(.notMember, "\(target) is not a member of \(room)")
        }
        guard target != user.id else { throw CommandRejection(.badRequest, "you cannot remove yourself; leave the room instead") }
        guard isAdmin || (role ?? .member) > (targetRole ?? .member) else {
            throw CommandRejection(.forbidden, "you cannot remove someone whose role is not below yours")
        }
        try await rooms.remove(target, from: room, ban: ban, by: user.id, origin: environment.node)
        AccessEvents.apply(
            .removed(room: room, userID: target, reason: ban ? .banned : .kicked),
            hub: hub,
            signedIn: environment.signedIn
        )
    }

    /// Lifts a ban from the room (moderators).
    public func unban(_ target: String, from room: String) async throws {
        try Self.validate(room: room)
        try await requireModerator(of: room)
        try await rooms.unban(target, from: room)
    }

    /// Bans `target` from the whole server, or lifts that ban (admins).
    public func setBannedFromServer(_ banned: Bool, _ target: String) async throws {
        if banned {
            try requireAdmin("ban users from the server")
            guard target != user.id else { throw CommandRejection(.badRequest, "an admin cannot ban themselves") }
        } else {
            try requireAdmin("lift bans from the server")
        }
        try await rooms.setBannedFromServer(banned, userID: target, by: user.id, origin: environment.node)
        if banned { AccessEvents.apply(.bannedFromServer(userID: target), hub: hub, signedIn: environment.signedIn) }
    }

    /// Gives `target` a role in the room (the owner only; the owner's own role does not change).
    public func setRole(_ role: RoomRole, of target: String, in room: String) async throws {
        try Self.validate(room: room)
        let record = try await requireEntry(to: room)
        guard record?.kind != .dm, try await effectiveRole(in: room) == .owner else {
            throw CommandRejection(.forbidden, "only the room's owner gives roles")
        }
        // In a public room, where joining records no membership, whoever is there (or is known) may get a role.
        let current = try await rooms.role(of: target, in: room)
        var takesARole = current != nil
        if !takesARole, record?.visibility == .public {
            takesARole = hub.isPresent(target, in: room)
            if !takesARole { takesARole = try await rooms.knownUser(target) != nil }
        }
        guard takesARole else {
            throw CommandRejection(.notMember, "\(target) is not a member of \(room)")
        }
        guard current != .owner else { throw CommandRejection(.forbidden, "the owner's role cannot change") }
        try await rooms.setRole(role, of: target, in: room)
    }

    /// Deletes the message at `offset`: its author, the room's owner and moderators (and admins) may.
    public func delete(at offset: Int64, in room: String) async throws {
        try Self.validate(room: room)
        try await requireEntry(to: room)
        guard let message = try await environment.store.messages(in: room, after: offset - 1, limit: 1).first,
            message.offset == offset, message.target == nil
        else {
            throw CommandRejection(.badRequest, "there is no message at offset \(offset) of \(room)")
        }
        let role = try await effectiveRole(in: room)
        guard message.senderID == user.id || role?.moderates == true else {
            throw CommandRejection(.forbidden, "only its author, the room's owner and moderators may delete a message")
        }
        _ = try await environment.store.append([.deletion(of: offset, in: room, by: user.ref)])
    }
}

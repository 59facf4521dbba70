import CoreMetrics
import Logging
import NIOCore
import ParleyProtocol
import Synchronization

/// One client's conversation: decodes its frames, answers them and feeds its sends to the store.
///
/// The connection layer calls ``receive(text:)`` for each text frame, in order, writes what appears in the
/// connection's outbox, and calls ``end()`` when the connection has gone. Sends are queued for the store, which
/// stores everyone's queued sends together (group commit) and keeps each client's in order; the session answers
/// each one when the store does.
public final class Session: Sendable {
    private struct PendingSend: Sendable {
        var ref: Ref?
        var draft: MessageDraft
        /// Plain clients get no `ack`.
        var acknowledges: Bool
    }

    private struct State {
        /// The session id's 64 random bits (a 16-character string would take a heap allocation per client).
        var sessionBits: UInt64?
        /// Who the connection speaks for, once `hello` is answered (from the start for an authenticated plain client).
        var user: User?
        /// What the connection authenticated with, at the upgrade or in `hello`.
        var credential: Credential?
        /// The signed-in user's allowance, shared with the user's other connections on this node (guests have none:
        /// anyone may be any guest, so their address's allowance stands for them).
        var userAllowance: Allowance?
        var limiter: RateLimiter
    }

    /// What every session of a server shares, referred to rather than copied into each session: an idle connection's
    /// memory is mostly what it holds.
    public final class Environment: Sendable {
        public let hub: Hub
        public let store: any MessageStore
        public let limits: Limits
        /// Who is who; `nil` when the server knows only guests.
        public let identity: (any IdentityProvider)?
        /// The connections whose credentials can expire or be revoked.
        public let signedIn: SignedInConnections
        /// What each signed-in user may do across all of their connections.
        public let users: Allowances
        /// Rooms, memberships, roles and bans.
        public let rooms: any RoomStore
        /// This node's name in the access events it records, so that it skips them when polling (it applied them).
        public let node: String
        /// Where sessions say why they answered `internal`.
        public let logger: Logger
        /// The same, throttled: a failing database must not flood the log.
        let log: LogThrottle
        /// A monotonic clock for rate limiting.
        public let now: @Sendable () -> Duration

        /// - Parameters:
        ///   - hub: The hub.
        ///   - store: The message store.
        ///   - limits: The limits to enforce.
        ///   - identity: Who is who; `nil` for guests only.
        ///   - signedIn: The connections whose credentials can expire or be revoked.
        ///   - userLimits: What each signed-in user may do across all of their connections.
        ///   - rooms: Rooms, memberships, roles and bans; in memory (beside `store`) when `nil`.
        ///   - node: This node's name in the access events it records.
        ///   - logger: Where sessions say why they answered `internal`.
        ///   - now: A monotonic clock for rate limiting.
        public init(
            hub: Hub,
            store: any MessageStore,
            limits: Limits,
            identity: (any IdentityProvider)? = nil,
            signedIn: SignedInConnections = SignedInConnections(),
            userLimits: AllowanceLimits = .perUser,
            rooms: (any RoomStore)? = nil,
            node: String = "local",
            logger: Logger = Logger(label: "parley"),
            now: @escaping @Sendable () -> Duration = Session.monotonicNow
        ) {
            self.hub = hub
            self.store = store
            self.limits = limits
            self.identity = identity
            self.signedIn = signedIn
            self.users = Allowances(limits: userLimits, now: now)
            self.rooms = rooms ?? InMemoryRoomStore(messages: store)
            self.node = node
            self.logger = logger
            self.log = LogThrottle(logger: logger)
            self.now = now
        }
    }

    /// The connection this session speaks for.
    public let connection: Connection
    /// The client's address's allowance, which this session's commands and texts draw on with the address's other
    /// connections'.
    public let client: Allowance
    /// The `session` sent in `welcome`, made when first asked for (plain clients never need one).
    public var sessionID: String {
        let bits = state.withLock { state in
            if let bits = state.sessionBits { return bits }
            let bits = UInt64.random(in: .min ... .max)
            state.sessionBits = bits
            return bits
        }
        let hex = String(bits, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
    private let environment: Environment
    private var hub: Hub { environment.hub }
    private var store: any MessageStore { environment.store }
    private var limits: Limits { environment.limits }
    private let unstoredSends = Atomic<Int>(0)
    private let onRoomForSends: @Sendable () -> Void
    private let state: Mutex<State>

    /// Bytes of encoded messages one `history` reply carries at most, so its frame stays readable by clients with a
    /// 1 MiB frame limit and a client asking for pages it does not read holds the server to its outbox bound.
    static let historyPageBudget = 512 * 1024

    /// Creates a session for a connection the hub has registered.
    /// - Parameters:
    ///   - connection: The connection, from ``Hub/connect(mode:)``.
    ///   - environment: The hub, store, limits and clock, shared by the server's sessions.
    ///   - client: The client's address and its allowance.
    ///   - credential: What the client authenticated with at the upgrade, if anything: a parley.v1 `hello` without a
    ///     token then speaks for it, and a plain client's messages carry its identity.
    ///   - onRoomForSends: Called, on the store's writer, when this client's sends waiting to be stored drop below
    ///     ``maxUnstoredSends`` (its connection may read again).
    public init(
        connection: Connection,
        environment: Environment,
        client: Allowance = .unlimited(),
        credential: Credential? = nil,
        onRoomForSends: @escaping @Sendable () -> Void = {}
    ) {
        self.connection = connection
        self.client = client
        self.onRoomForSends = onRoomForSends
        self.environment = environment
        let limits = environment.limits
        var state = State(limiter: RateLimiter(rate: limits.commandsPerSecond, burst: limits.commandBurst))
        state.credential = credential
        if connection.mode == .plain, let credential {
            state.user = credential.user
            state.userAllowance = Self.allowance(of: credential.user, in: environment)
            environment.signedIn.record(connection, credential: credential)
        }
        self.state = Mutex(state)
    }

    /// Time since an arbitrary fixed point, for rate limiting.
    @Sendable
    public static func monotonicNow() -> Duration {
        ContinuousClock.now - Self.clockOrigin
    }

    private static let clockOrigin = ContinuousClock.now

    /// Acknowledges a stored send, or tells the client it was not stored. Called on the store's writer.
    private func answer(_ send: PendingSend, with result: Result<[AppendOutcome], any Error>) {
        let waiting = unstoredSends.subtract(1, ordering: .relaxed).newValue
        defer { if waiting == maxUnstoredSends - 1 { onRoomForSends() } }
        switch result {
        case .success(let outcomes):
            guard send.acknowledges, let message = outcomes.first?.message else { return }
            connection.outbox.push(
                connection.format.encode(
                    .ack(
                        ref: send.ref,
                        room: message.room,
                        id: message.clientID,
                        offset: message.offset,
                        ts: Timestamp.rfc3339(millisecondsSinceEpoch: message.storedAt)
                    )
                )
            )
        case .failure(let error):
            logInternal("storing a send failed", error)
            guard send.acknowledges else { return }
            hub.metrics.countError(.internal)
            connection.outbox.push(
                connection.format.encode(
                    .error(ref: send.ref, code: .internal, message: "the message could not be stored; send it again with the same id")
                )
            )
        }
    }

    /// Sends received and not yet stored: a connection stops reading past a bound, so a client cannot queue more
    /// than its outbox can take answers for.
    public var unstoredSendCount: Int { unstoredSends.load(ordering: .relaxed) }

    /// Sends a client may have waiting to be stored before its connection stops reading: their answers (an `ack`, and
    /// the message itself for a member of the room) must fit in its outbox.
    public var maxUnstoredSends: Int { max(1, limits.outboxFrames / 4) }

    /// Queues a send for the store. Sends are queued in the order they arrive and the store keeps that order, so
    /// a client that sends quickly is limited by group commit, not by one commit per message.
    private func queue(_ send: PendingSend) {
        unstoredSends.add(1, ordering: .relaxed)
        store.append([send.draft]) { result in self.answer(send, with: result) }
    }

    /// Ends the session: leaves every room. Sends already queued are still stored (and answered, to an outbox nobody
    /// reads).
    public func end() {
        if let allowance = state.withLock({ $0.userAllowance }) { environment.users.release(allowance) }
        environment.signedIn.forget(connection)
        hub.disconnect(connection)
    }

    /// Handles a binary frame: parley.v1 answers `bad_request`; plain mode ignores it.
    public func receiveBinary() async {
        guard connection.mode == .parley, allowedByRateLimit() else { return }
        await reply(.error(ref: nil, code: .badRequest, message: "binary frames are not part of parley.v1; send JSON text frames"))
    }

    /// Handles one text frame.
    public func receive(text: String) async {
        switch connection.mode {
        case .plain: receivePlain(text)
        case .parley: await receiveCommand(text)
        }
    }

    private func receivePlain(_ text: String) {
        guard allowedByRateLimit(), !text.isEmpty, text.utf8.count <= limits.maxTextBytes, !text.utf8.contains(0),
            allowsStoring(bytes: text.utf8.count)
        else { return }
        hub.metrics.messagesReceived.increment()
        let sender = state.withLock { $0.user } ?? User.guest(named: hub.plainMode.senderName)
        let draft = MessageDraft(
            room: hub.plainMode.room,
            senderID: sender.id,
            sender: sender.name,
            clientID: "plain-" + Self.randomHex(bytes: 16),
            text: text
        )
        queue(PendingSend(ref: nil, draft: draft, acknowledges: false))
    }

    /// The answer to every command over the rate limit, encoded once: a flood must cost the server little.
    private static let rateLimitedFrames = FormatEncodings(
        .error(ref: nil, code: .rateLimited, message: "too many commands; slow down")
    )

    private func receiveCommand(_ text: String) async {
        guard allowedByRateLimit() else {
            hub.metrics.countError(.rateLimited)
            _ = await connection.outbox.pushWaitingForSpace(Self.rateLimitedFrames[connection.format])
            return
        }
        let user = state.withLock { $0.user }
        let frame: ClientFrame
        do {
            frame = try ClientFrame.decode(text)
        } catch let rejection {
            if user == nil, let type = rejection.type, type != "hello" {
                await reply(.error(ref: rejection.ref, code: .helloRequired, message: "send hello first"))
            } else {
                await reply(.error(ref: rejection.ref, code: rejection.code, message: rejection.message))
            }
            return
        }
        guard let user else {
            if case .hello(let requested, let token) = frame.command {
                await hello(name: requested, token: token, ref: frame.ref)
            } else {
                await reply(.error(ref: frame.ref, code: .helloRequired, message: "send hello first"))
            }
            return
        }
        do {
            try await handle(frame.command, ref: frame.ref, user: user)
        } catch let rejection as CommandRejection {
            await reply(.error(ref: frame.ref, code: rejection.code, message: rejection.message))
        } catch {
            logInternal("a \(frame.command.type) command failed", error)
            await reply(.error(ref: frame.ref, code: .internal, message: "the server could not complete the command; try again"))
        }
    }

    /// Answers `hello`: with a token, the user it stands for; without one, the user the connection authenticated as
    /// at the upgrade, or else a guest of that name (when guests are allowed and no account has the name).
    private func hello(name requested: String?, token: String?, ref: Ref?) async {
        let credential: Credential
        if let token {
            guard let authenticated = await authenticate(token, ref: ref) else { return }
            credential = authenticated
        } else if let authenticated = state.withLock({ $0.credential }) {
            credential = authenticated
        } else {
            guard environment.identity?.guestsAllowed ?? true else {
                return await refuseCredential("this server admits only signed-in users: send a token", ref: ref)
            }
            guard let requested else {
                return await replyError(.badRequest, "field \"name\" is required without a token", ref: ref)
            }
            guard let name = Names.displayName(enforcing: requested) else {
                return await replyError(
                    .invalidName,
                    "a display name is 1–32 visible characters in at most 128 bytes, without control characters",
                    ref: ref
                )
            }
            do {
                if try await environment.identity?.isTakenByAnAccount(name) == true {
                    return await replyError(.nameTaken, "an account has that name; pick another or sign in", ref: ref)
                }
            } catch {
                logInternal("checking a guest's name against the accounts failed", error)
                return await replyError(.internal, "the server could not check the name; try again", ref: ref)
            }
            credential = .guest(named: name)
        }
        do {
            if try await environment.rooms.isBannedFromServer(credential.user.id) {
                await replyError(.forbidden, "you are banned from this server", ref: ref)
                connection.outbox.close(.bannedFromServer, reason: "banned from the server")
                return
            }
            if !credential.user.guest { try await environment.rooms.rememberUser(credential.user.ref) }
        } catch {
            logInternal("checking a server ban failed", error)
            return await replyError(.internal, "the server could not check who you are; try again", ref: ref)
        }
        let allowance = Self.allowance(of: credential.user, in: environment)
        state.withLock { state in
            state.user = credential.user
            state.credential = credential
            state.userAllowance = allowance
        }
        environment.signedIn.record(connection, credential: credential)
        let expiresAt = credential.expiresAt.map(Timestamp.rfc3339(millisecondsSinceEpoch:))
        await reply(.welcome(ref: ref, session: sessionID, user: credential.user, limits: limits, expiresAt: expiresAt))
    }

    /// Replaces the connection's credential with `token`'s, which must stand for the same user.
    private func refresh(with token: String, ref: Ref?, user: User) async {
        guard let credential = await authenticate(token, ref: ref) else { return }
        guard credential.user.id == user.id else {
            return await refuseCredential("the token is for another user; reconnect to change users", ref: ref)
        }
        state.withLock { $0.credential = credential }
        environment.signedIn.record(connection, credential: credential)
        await reply(.refreshed(ref: ref, expiresAt: credential.expiresAt.map(Timestamp.rfc3339(millisecondsSinceEpoch:))))
    }

    /// The credential `token` stands for, or `nil` once the command is answered: `unauthorized` and 4001 for a token
    /// that stands for nothing, `internal` when it could not be checked.
    private func authenticate(_ token: String, ref: Ref?) async -> Credential? {
        do {
            guard let identity = environment.identity else { throw AuthenticationFailure("this server has no accounts") }
            return try await identity.authenticate(token: token)
        } catch let failure as AuthenticationFailure {
            await refuseCredential(failure.message, ref: ref)
        } catch {
            logInternal("checking a token failed", error)
            await replyError(.internal, "the server could not check the token; try again", ref: ref)
        }
        return nil
    }

    /// Answers `unauthorized` and closes the connection with 4001: the client must get a new credential.
    private func refuseCredential(_ message: String, ref: Ref?) async {
        await replyError(.unauthorized, message, ref: ref)
        connection.outbox.close(.unauthorized, reason: "unauthorized")
    }

    private func replyError(_ code: ErrorCode, _ message: String, ref: Ref?) async {
        await reply(.error(ref: ref, code: code, message: message))
    }

    private func handle(_ command: ClientCommand, ref: Ref?, user: User) async throws {
        // Built where a command needs it: send, typing and members (the busy ones) read no credential unless refused.
        switch command {
        case .hello:
            throw CommandRejection(.badRequest, "hello was already sent on this connection")
        case .join(let room, let since):
            try RoomActions.validate(room: room)
            try await join(room, since: since, ref: ref, user: user)
        case .send(let room, let text, let id):
            try RoomActions.validate(room: room)
            try await requireJoined(room, user: user)
            try RoomActions.validate(text: text, limits: limits)
            guard allowsStoring(bytes: text.utf8.count) else {
                hub.metrics.rateLimitedCommands.increment()
                throw CommandRejection(.rateLimited, "you are sending more text than the server stores for one address or user; slow down")
            }
            let draft = MessageDraft(room: room, senderID: user.id, sender: user.name, clientID: id, text: text)
            queue(PendingSend(ref: ref, draft: draft, acknowledges: true))
            hub.metrics.messagesReceived.increment()
        case .history(let room, let before, let limit):
            let messages = try await actions(of: user).history(in: room, before: before, limit: limit)
            await reply(.history(ref: ref, room: room, messages: messages))
        case .typing(let room):
            try RoomActions.validate(room: room)
            try await requireJoined(room, user: user)
            hub.typing(in: room, user: user.ref)
        case .leave(let room):
            try RoomActions.validate(room: room)
            try requireJoined(room)
            _ = hub.leave(room, connection: connection)
            await reply(.left(ref: ref, room: room))
        case .ping:
            await reply(.pong(ref: ref))
        case .refresh(let token):
            await refresh(with: token, ref: ref, user: user)
        case .create(let room, let visibility):
            try await actions(of: user).create(room, visibility: visibility)
            await reply(.created(ref: ref, room: room, visibility: visibility))
        case .dm(let peerID):
            let room = try await actions(of: user).openDirectMessages(with: peerID)
            try await join(room, since: nil, ref: ref, user: user)
        case .rooms:
            await reply(.rooms(ref: ref, rooms: try await actions(of: user).roomList()))
        case .invite(let room, let invitee):
            try await actions(of: user).invite(invitee, to: room)
            await reply(.done(ref: ref))
        case .kick(let room, let target):
            try await actions(of: user).remove(target, from: room, ban: false)
            await reply(.done(ref: ref))
        case .ban(let room?, let target):
            try await actions(of: user).remove(target, from: room, ban: true)
            await reply(.done(ref: ref))
        case .ban(nil, let target):
            try await actions(of: user).setBannedFromServer(true, target)
            await reply(.done(ref: ref))
        case .unban(let room?, let target):
            try await actions(of: user).unban(target, from: room)
            await reply(.done(ref: ref))
        case .unban(nil, let target):
            try await actions(of: user).setBannedFromServer(false, target)
            await reply(.done(ref: ref))
        case .role(let room, let target, let role):
            try await actions(of: user).setRole(role, of: target, in: room)
            await reply(.done(ref: ref))
        case .members(let room, let after, let limit):
            try RoomActions.validate(room: room)
            try await requireJoined(room, user: user)
            let most = max(limits.presenceListLimit, 100)
            let page = hub.users(in: room, after: after, limit: min(limit ?? 100, most))
            await reply(.members(ref: ref, room: room, users: page.users, next: page.next))
        case .delete(let room, let offset):
            try await actions(of: user).delete(at: offset, in: room)
            await reply(.done(ref: ref))
        }
    }

    /// What the user may do in rooms, as this connection's credential has it (an admin's acts as owner everywhere).
    private func actions(of user: User) -> RoomActions {
        RoomActions(environment: environment, user: user, isAdmin: state.withLock { $0.credential?.admin ?? false })
    }

    /// Checks the user may enter the room, then subscribes, replays from the store and goes live: no gap, no
    /// duplicate, in offset order. A public room's first join makes its record. (Joining a public room records no
    /// membership: anyone may, and a write per join would make filling a large room wait on the disk.)
    private func join(_ room: String, since: Int64?, ref: Ref?, user: User) async throws {
        guard hub.roomCount(of: connection) < limits.maxJoinedRooms || hub.isMember(room, connection: connection) else {
            throw CommandRejection(.badRequest, "this connection is in \(limits.maxJoinedRooms) rooms, the most it may join; leave one first")
        }
        var record = try await actions(of: user).requireEntry(to: room)
        if record == nil {
            guard !DirectMessages.isReserved(room) else {
                throw CommandRejection(.forbidden, "\(room) is nobody's direct messages; open yours with dm")
            }
            let created = RoomRecord(room: room, kind: .room, visibility: .public)
            _ = try await environment.rooms.createRoom(created, members: [:])
            record = created
        }
        var about = JoinedRoom(kind: record?.kind ?? .room, visibility: record?.visibility ?? .public)
        if about.kind == .dm, let peerID = try await environment.rooms.peer(of: user.id, in: room) {
            about.peer = try await environment.rooms.knownUser(peerID) ?? UserRef(id: peerID, name: peerID)
        }
        let members = hub.beginJoin(room, connection: connection, user: user.ref)
        about.memberCount = members.count
        do {
            let (head, latest) =
                since == nil ? try await store.head(of: room, withLatest: limits.joinReplayCount) : (try await store.head(of: room), [])
            let joined = ServerEvent.joined(
                ref: ref,
                room: room,
                head: head,
                members: members.users.map(\.name),
                users: members.users,
                about: about
            )
            guard await reply(joined) else { return }
            var delivered: Int64
            if let since {
                guard let last = try await replay(room, after: min(since, head), through: head) else { return }
                delivered = last
            } else {
                guard await replay(latest) else { return }
                delivered = head
            }
            while case .catchUp(let after) = hub.finishJoin(room, connection: connection, deliveredThrough: delivered) {
                let newHead = try await store.head(of: room)
                guard let last = try await replay(room, after: after, through: newHead) else { return }
                delivered = last
            }
        } catch {
            _ = hub.leave(room, connection: connection)
            throw error
        }
    }

    /// Replays stored messages after `offset` until at least `head`, page by page, waiting for outbox space.
    /// A page may reach past `head` (messages committed meanwhile); they are replayed too.
    /// - Returns: The last offset replayed (`offset` if none), or `nil` if the connection closed meanwhile.
    private func replay(_ room: String, after offset: Int64, through head: Int64) async throws -> Int64? {
        var cursor = offset
        while cursor < head {
            let page = try await store.messages(in: room, after: cursor, limit: limits.maxHistoryPage)
            guard let last = page.last else { break }
            guard await replay(page) else { return nil }
            cursor = last.offset
        }
        return cursor
    }

    /// Replays entries, waiting for outbox space; stops (`false`) when the connection closed or was removed from the
    /// room meanwhile, so that a kicked member gets nothing more from it.
    private func replay(_ messages: [StoredMessage]) async -> Bool {
        guard let room = messages.first?.room else { return true }
        guard hub.isMember(room, connection: connection) else { return false }
        for message in messages {
            guard await connection.outbox.pushWaitingForSpace(connection.format.encode(message.event)) else {
                return false
            }
            hub.metrics.replayedMessages.increment()
        }
        return true
    }

    /// Queues a reply, waiting for outbox space: replies answer this client and may make it wait.
    @discardableResult
    private func reply(_ event: ServerEvent) async -> Bool {
        if case .error(_, let code, _) = event { hub.metrics.countError(code) }
        return await connection.outbox.pushWaitingForSpace(connection.format.encode(event))
    }

    /// Whether a WebSocket ping from the client may be answered: it counts as a command for the rate limits.
    public func allowsControlFrame() -> Bool {
        allowedByRateLimit()
    }

    /// Says why the client is answered `internal`: the client learns only that the server failed, the operator
    /// learns what failed and why. A store that has shut down is no news during a shutdown.
    private func logInternal(_ what: String, _ error: any Error) {
        if let storeError = error as? StoreError, storeError.isClosed {
            environment.logger.debug("\(what): the store is closed", metadata: ["connection": "\(connection.id)"])
            return
        }
        environment.log.error("answered internal: \(what)", metadata: ["error": "\(error)", "connection": "\(connection.id)"])
    }

    /// Takes one command from the connection's allowance, then from its address's, then from its user's.
    private func allowedByRateLimit() -> Bool {
        let time = environment.now()
        let (connectionAllows, user) = state.withLock { ($0.limiter.allow(now: time), $0.userAllowance) }
        let allowed = connectionAllows && client.allowsCommand() && (user?.allowsCommand() ?? true)
        if !allowed { hub.metrics.rateLimitedCommands.increment() }
        return allowed
    }

    /// Takes `bytes` of text to store from the address's allowance, then from the user's.
    private func allowsStoring(bytes: Int) -> Bool {
        client.allowsStoring(bytes: bytes) && (state.withLock { $0.userAllowance }?.allowsStoring(bytes: bytes) ?? true)
    }

    /// A signed-in user's allowance on this node; guests have none.
    private static func allowance(of user: User, in environment: Environment) -> Allowance? {
        user.guest ? nil : environment.users.admit(user.id)
    }

    private func requireJoined(_ room: String) throws {
        guard hub.isMember(room, connection: connection) else {
            throw CommandRejection(.notJoined, "join \(room) first")
        }
    }

    /// Checks that the connection is in the room; when it is not, someone who may not enter it (a private room, a
    /// direct message, a ban) is told `forbidden`, anyone else `not_joined`. The store is read only on refusal.
    private func requireJoined(_ room: String, user: User) async throws {
        guard !hub.isMember(room, connection: connection) else { return }
        try await actions(of: user).requireEntry(to: room)
        throw CommandRejection(.notJoined, "join \(room) first")
    }

    /// Keeps the newest messages whose encoded size (escapes and every field included, not only the text) fits the
    /// page budget, always at least one. Deletion entries are left out: a deleted message shows as `deleted`.
    static func trimmedToBudget(_ messages: [StoredMessage]) -> [ChatMessage] {
        withinBudget(messages.reversed()).reversed()
    }

    /// The same, keeping the oldest: for pages read forward (after an offset).
    static func trimmedFromOldest(_ messages: [StoredMessage]) -> [ChatMessage] {
        withinBudget(messages)
    }

    /// The messages, in the order given, until the page budget is spent (always at least one).
    private static func withinBudget(_ messages: some Sequence<StoredMessage>) -> [ChatMessage] {
        var total = 0
        var kept: [ChatMessage] = []
        for message in messages where message.target == nil {
            let chatMessage = message.chatMessage
            let size = ServerEvent.message(chatMessage).jsonBytes().count + 1
            if total + size > historyPageBudget && !kept.isEmpty { break }
            total += size
            kept.append(chatMessage)
        }
        return kept
    }

    private static func randomHex(bytes: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<bytes).map { _ in
            let byte = UInt8.random(in: 0...255, using: &generator)
            return String(byte >> 4, radix: 16) + String(byte & 0x0f, radix: 16)
        }.joined()
    }
}

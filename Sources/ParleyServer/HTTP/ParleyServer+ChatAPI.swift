import CoreMetrics
import HTTPTypes
import Hummingbird
import NIOCore
import ParleyCore
import ParleyIdentity
import ParleyProtocol
import Synchronization

/// The chat over plain HTTP (`/api/v1/rooms…`), for application backends and clients that cannot open a WebSocket:
/// the same commands as parley.v1, through the same ``RoomActions``, so the same access rules. Every request
/// carries a credential (the session cookie or `Authorization: Bearer`); every error is
/// `{"error":{"code","message"}}` with the protocol's code and a fitting status.
extension ParleyServer {
    func addChatRoutes(to router: Router<ParleyRequestContext>, sessions: Session.Environment, drainQueues: PerEventLoop<DrainQueue>) {
        let api = router.group("api/v1")
        var guestRequestLimits = configuration.addressLimits
        guestRequestLimits.maxConnections = 0
        let caller = APICaller(
            identity: identity,
            originPolicy: OriginPolicy(allowedOrigins: configuration.allowedOrigins),
            sessions: sessions,
            guestAddresses: Allowances(limits: guestRequestLimits)
        )
        addEventStreamRoute(to: router, caller: caller, drainQueues: drainQueues)
        api.get("openapi.json") { _, _ in
            Response(
                status: .ok,
                headers: [.contentType: "application/json; charset=utf-8", .cacheControl: "no-cache"],
                body: .init(byteBuffer: ByteBuffer(string: Self.openAPIDocument))
            )
        }
        let limits = sessions.limits
        // A message's text may be escaped six times over in JSON (`\u0001`), beside its id.
        let maxPostBytes = max(Self.maxAccountBodyBytes, limits.maxTextBytes * 6 + 1024)

        api.get("rooms") { request, context in
            await caller.answering(request, context, needs: .read) { actions in
                Self.json(.ok, RoomList(rooms: try await actions.roomList()))
            }
        }
        api.post("rooms") { request, context in
            await caller.answering(request, context, needs: .moderate) { actions in
                let body = try await Self.body(of: request, as: NewRoom.self)
                let visibility = body.visibility ?? .public
                try await actions.create(body.room, visibility: visibility)
                return Self.json(.created, NewRoom(room: body.room, visibility: visibility))
            }
        }
        api.get("rooms/:room/messages") { request, context in
            await caller.answering(request, in: context, needs: .read) { actions, room in
                let query = request.uri.queryParameters
                let before = try Self.offset(query["before"], named: "before")
                let after = try Self.offset(query["after"], named: "after")
                let limit = try Self.limit(query["limit"])
                let messages: [ChatMessage]
                if let after {
                    // With before too, the messages between the two offsets.
                    messages = try await actions.messages(in: room, after: after, limit: limit).filter { $0.offset < before ?? .max }
                } else {
                    messages = try await actions.history(in: room, before: before, limit: limit)
                }
                return Self.json(.ok, MessagePage(room: room, messages: messages))
            }
        }
        api.post("rooms/:room/messages") { request, context in
            await caller.answering(request, in: context, needs: .publish) { room, call in
                let body = try await Self.body(of: request, as: NewMessage.self, upTo: maxPostBytes)
                return try await caller.post(body, to: room, by: call)
            }
        }
        api.delete("rooms/:room/messages/:offset") { request, context in
            await caller.answering(request, in: context, needs: .moderate) { actions, room in
                guard let offset = try Self.offset(context.parameters.get("offset"), named: "offset") else {
                    throw Failure(.badRequest, "bad_request", "give the offset of the message to delete")
                }
                try await actions.delete(at: offset, in: room)
                return Self.noContent()
            }
        }
        api.post("rooms/:room/typing") { request, context in
            await caller.answering(request, in: context, needs: .publish) { actions, room in
                try await actions.requireEntry(to: room)
                sessions.hub.typing(in: room, user: actions.user.ref)
                return Self.noContent()
            }
        }
        api.get("rooms/:room/members") { request, context in
            await caller.answering(request, in: context, needs: .read) { actions, room in
                try await actions.requireEntry(to: room)
                let query = request.uri.queryParameters
                let most = max(limits.presenceListLimit, 100)
                let limit = min(try Self.limit(query["limit"]) ?? 100, most)
                let page = sessions.hub.users(in: room, after: query["after"].map(String.init), limit: limit)
                return Self.json(.ok, MemberPage(room: room, users: page.users, next: page.next))
            }
        }
        for (name, act) in Self.moderationActions {
            api.post("rooms/:room/\(name)") { request, context in
                await caller.answering(request, in: context, needs: .moderate) { actions, room in
                    let body = try await Self.body(of: request, as: Moderation.self)
                    try await act(actions, room, body)
                    return Self.noContent()
                }
            }
        }
        api.post("dms") { request, context in
            await caller.answering(request, context, needs: .publish) { actions in
                let body = try await Self.body(of: request, as: Moderation.self)
                return Self.json(.ok, OpenedDirectMessages(room: try await actions.openDirectMessages(with: body.user)))
            }
        }
        api.post("bans") { request, context in
            await caller.answering(request, context, needs: .moderate) { actions in
                let body = try await Self.body(of: request, as: Moderation.self)
                try await actions.setBannedFromServer(true, body.user)
                return Self.noContent()
            }
        }
        api.delete("bans/:user") { request, context in
            await caller.answering(request, context, needs: .moderate) { actions in
                try await actions.setBannedFromServer(false, try context.parameters.require("user"))
                return Self.noContent()
            }
        }
    }

    private static func noContent() -> Response {
        Response(status: .noContent, headers: [.cacheControl: "no-store"])
    }

    /// The moderation commands, each a `POST /api/v1/rooms/{room}/NAME` with `{"user"}` (and `"role"` for `role`).
    private static let moderationActions: [(String, @Sendable (RoomActions, String, Moderation) async throws -> Void)] = [
        ("invite", { actions, room, body in try await actions.invite(body.user, to: room) }),
        ("kick", { actions, room, body in try await actions.remove(body.user, from: room, ban: false) }),
        ("ban", { actions, room, body in try await actions.remove(body.user, from: room, ban: true) }),
        ("unban", { actions, room, body in try await actions.unban(body.user, from: room) }),
        (
            "role",
            { actions, room, body in
                guard let role = body.role else { throw Failure(.badRequest, "bad_request", "field \"role\" is required") }
                try await actions.setRole(role, of: body.user, in: room)
            }
        ),
    ]

    /// An offset from a query parameter or the path: a whole number, 0 or more.
    private static func offset(_ text: Substring?, named name: String) throws -> Int64? {
        try offset(text.map(String.init), named: name)
    }

    private static func offset(_ text: String?, named name: String) throws -> Int64? {
        guard let text else { return nil }
        guard let value = Int64(text), value >= 0 else {
            throw Failure(.badRequest, "bad_request", "\(name) must be a whole number, 0 or more")
        }
        return value
    }

    private static func limit(_ text: Substring?) throws -> Int? {
        guard let text else { return nil }
        guard let value = Int(text), value >= 1 else {
            throw Failure(.badRequest, "bad_request", "limit must be a whole number, 1 or more")
        }
        return value
    }

    // MARK: Bodies

    private struct RoomList: Encodable {
        var rooms: [RoomSummary]
    }

    private struct NewRoom: Codable {
        var room: String
        var visibility: RoomVisibility?
    }

    private struct MessagePage: Encodable {
        var room: String
        var messages: [ChatMessage]
    }

    struct NewMessage: Decodable {
        var text: String
        var id: String
        /// Whom an API key with `publish` posts as.
        var `as`: UserRef?
    }

    private struct MemberPage: Encodable {
        var room: String
        var users: [UserRef]
        var next: String?
    }

    private struct OpenedDirectMessages: Encodable {
        var room: String
    }

    private struct Moderation: Decodable {
        var user: String
        var role: RoomRole?
    }
}

/// Who an API request speaks for, and the answers common to every chat endpoint.
struct APICaller: Sendable {
    let identity: IdentityService
    let originPolicy: OriginPolicy
    let sessions: Session.Environment
    /// What guests' requests from each client address may do together, across requests (a request holds no
    /// connection whose allowance would last beyond it).
    let guestAddresses: Allowances
    /// The users this node recorded as known already: an API request records its user once, not at every call.
    let remembered = RememberedUsers()

    /// The acknowledgement of a stored message, as parley.v1's `ack` has it.
    private struct Ack: Encodable {
        var room: String
        var id: String
        var offset: Int64
        var ts: String
    }

    /// Who an authenticated request speaks for.
    struct Call {
        /// What the caller may do in rooms.
        var actions: RoomActions
        /// The credential, as a connection of the caller's would hold it (for an event stream: expiry, revocation).
        var credential: Credential
        /// The API key the caller presented, if it was one.
        var key: APIKey?
        /// The token or key presented (empty for a guest).
        var token: String
        /// For a guest, the allowance of the address the request came from.
        var addressAllowance: Allowance?
    }

    /// Authenticates the request, runs `handler` with what its user may do, and answers every refusal with its
    /// status and JSON error (a database that cannot be reached with `503`). An API key must have `scope`; it acts
    /// as a server admin within its scopes, under its own user id `key:NAME`. A guest (`?guest=NAME`) is held to a
    /// guest's rights, and each of its requests draws on the allowance of the address it comes from, as a
    /// WebSocket guest's commands do: anyone may be any guest, so the name cannot stand for anyone.
    func answering(
        _ request: Request,
        _ context: ParleyRequestContext,
        needs scope: APIKeyScope,
        call handler: (Call) async throws -> Response
    ) async -> Response {
        await ParleyServer.answering {
            do {
                return try await handler(try await call(presentedBy: request, on: context.channel, needs: scope))
            } catch let rejection as CommandRejection {
                sessions.hub.metrics.countError(rejection.code)
                var response = ParleyServer.error(Self.status(of: rejection.code), rejection.code.rawValue, rejection.message)
                if rejection.code == .rateLimited { response.headers[.retryAfter] = "1" }
                return response
            }
        }
    }

    /// Who the request speaks for: a guest it names, an API key, or the user of a session token or JWT.
    private func call(presentedBy request: Request, on channel: any Channel, needs scope: APIKeyScope) async throws -> Call {
        if let guest = try await ParleyServer.guest(of: request, identity: identity) {
            if try await sessions.rooms.isBannedFromServer(guest.user.id) {
                throw ParleyServer.Failure(.forbidden, "forbidden", "you are banned from this server")
            }
            let addressAllowance = guestAddresses.admitRequest(ConnectionTracker.addressKey(of: channel))
            guard addressAllowance?.allowsCommand() ?? true else {
                sessions.hub.metrics.rateLimitedCommands.increment()
                throw CommandRejection(.rateLimited, "your address is sending faster than the server allows; slow down")
            }
            return Call(
                actions: RoomActions(environment: sessions, user: guest.user, isAdmin: false),
                credential: guest,
                token: "",
                addressAllowance: addressAllowance
            )
        }
        let token = try ParleyServer.token(of: request, originPolicy: originPolicy)
        if APIKeys.isAPIKey(token) {
            guard let found = try await identity.apiKey(token) else {
                throw ParleyServer.Failure(.unauthorized, "unauthorized", "this API key is unknown or was revoked")
            }
            guard found.scopes.contains(scope) else {
                throw ParleyServer.Failure(.forbidden, "forbidden", "this API key lacks the \(scope.rawValue) scope")
            }
            let credential = Credential(user: User(id: "key:\(found.name)", name: found.name, guest: false), admin: true)
            return Call(
                actions: RoomActions(environment: sessions, user: credential.user, isAdmin: true),
                credential: credential,
                key: found,
                token: token
            )
        }
        let credential = try await ParleyServer.credential(of: token, identity: identity)
        if try await sessions.rooms.isBannedFromServer(credential.user.id) {
            throw ParleyServer.Failure(.forbidden, "forbidden", "you are banned from this server")
        }
        // As a connection's hello does, so that someone who only uses the API can be invited and messaged.
        if !credential.user.guest, !remembered.contains(credential.user.ref) {
            try await sessions.rooms.rememberUser(credential.user.ref)
            remembered.insert(credential.user.ref)
        }
        return Call(
            actions: RoomActions(environment: sessions, user: credential.user, isAdmin: credential.admin),
            credential: credential,
            token: token
        )
    }

    /// The same, for a handler that needs only what the caller may do.
    func answering(
        _ request: Request,
        _ context: ParleyRequestContext,
        needs scope: APIKeyScope,
        _ handler: (RoomActions) async throws -> Response
    ) async -> Response {
        await answering(request, context, needs: scope) { call in try await handler(call.actions) }
    }

    /// The same, for an endpoint under `/api/v1/rooms/{room}/`: the handler also gets the room, a valid name.
    func answering(
        _ request: Request,
        in context: ParleyRequestContext,
        needs scope: APIKeyScope,
        _ handler: (String, Call) async throws -> Response
    ) async -> Response {
        await answering(request, context, needs: scope) { call in
            let room = try context.parameters.require("room")
            try RoomActions.validate(room: room)
            return try await handler(room, call)
        }
    }

    /// The same, for a room endpoint whose handler needs no key.
    func answering(
        _ request: Request,
        in context: ParleyRequestContext,
        needs scope: APIKeyScope,
        _ handler: (RoomActions, String) async throws -> Response
    ) async -> Response {
        await answering(request, in: context, needs: scope) { room, call in try await handler(call.actions, room) }
    }

    /// Stores a message and answers its `ack`: `201` the first time, `200` with the original for the same id again.
    /// An API key with `publish` posts as the user given in `as`, if any.
    func post(_ body: ParleyServer.NewMessage, to room: String, by call: Call) async throws -> Response {
        let actions = call.actions
        guard Names.isValidClientID(body.id) else {
            throw CommandRejection(.badRequest, "field \"id\" must be 1–128 bytes without U+0000")
        }
        try RoomActions.validate(text: body.text, limits: sessions.limits)
        try await actions.requireEntry(to: room)
        var user = actions.user
        if let poster = body.as {
            guard call.key != nil else {
                throw CommandRejection(.forbidden, "only an API key with the publish scope may post as someone else")
            }
            guard Names.isValidClientID(poster.id), Names.isValidDisplayName(poster.name) else {
                throw CommandRejection(.badRequest, "field \"as\" needs an id of 1–128 bytes and a valid display name")
            }
            user = User(id: poster.id, name: poster.name, guest: poster.id.hasPrefix(User.guestIDPrefix))
        }
        // The caller's allowance (a key's own when it posts as others).
        guard let allowance = sessions.users.admitRequest(actions.user.id) else {
            throw CommandRejection(.rateLimited, "\(actions.user.id) has as many connections open as the server allows; close one")
        }
        guard allowance.allowsCommand(), allowance.allowsStoring(bytes: body.text.utf8.count),
            call.addressAllowance?.allowsStoring(bytes: body.text.utf8.count) ?? true
        else {
            sessions.hub.metrics.rateLimitedCommands.increment()
            throw CommandRejection(.rateLimited, "you are sending faster than the server allows one user; slow down")
        }
        let draft = MessageDraft(room: room, senderID: user.id, sender: user.name, clientID: body.id, text: body.text)
        guard let outcome = try await sessions.store.append([draft]).first else {
            throw CommandRejection(.internal, "the message could not be stored; send it again with the same id")
        }
        sessions.hub.metrics.messagesReceived.increment()
        let message = outcome.message
        let ack = Ack(
            room: message.room,
            id: message.clientID,
            offset: message.offset,
            ts: Timestamp.rfc3339(millisecondsSinceEpoch: message.storedAt)
        )
        return ParleyServer.json(outcome.isNew ? .created : .ok, ack)
    }

    /// The HTTP status of each protocol error code.
    static func status(of code: ErrorCode) -> HTTPResponse.Status {
        switch code {
        case .badRequest, .unknownType, .helloRequired, .invalidRoom, .invalidName: .badRequest
        case .notJoined, .notMember, .noSuchUser: .notFound
        case .nameTaken, .roomExists: .conflict
        case .tooLarge: .contentTooLarge
        case .rateLimited: .tooManyRequests
        case .unauthorized: .unauthorized
        case .forbidden: .forbidden
        case .internal: .serviceUnavailable
        }
    }
}

/// The users (id and display name) a node has recorded as known since it started; bounded, forgetting all when full
/// (recording again is harmless).
final class RememberedUsers: Sendable {
    private let users = Mutex<Set<UserRef>>([])
    private static let most = 100_000

    /// Whether `user` was recorded.
    func contains(_ user: UserRef) -> Bool {
        users.withLock { $0.contains(user) }
    }

    /// Counts `user` as recorded.
    func insert(_ user: UserRef) {
        users.withLock { users in
            if users.count >= Self.most { users.removeAll() }
            users.insert(user)
        }
    }
}

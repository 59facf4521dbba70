#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A command a parley.v1 client sends, one JSON object per text frame.
public enum ClientCommand: Sendable, Equatable {
    /// Introduces the connection; must come first. `name` is a guest's display name, needed only without a
    /// credential (a `token`, or one presented at the upgrade).
    case hello(name: String?, token: String?)
    /// Joins a room, replaying messages after `since` (or the latest ones without it), then live ones.
    case join(room: String, since: Int64?)
    /// Stores and broadcasts a message; `id` makes resending idempotent.
    case send(room: String, text: String, id: String)
    /// Reads a page of history, newest page first when `before` is absent.
    case history(room: String, before: Int64?, limit: Int?)
    /// Tells the others in the room that this user is typing.
    case typing(room: String)
    /// Leaves a room.
    case leave(room: String)
    /// Asks for a `pong`.
    case ping
    /// Replaces the connection's credential with a fresh one for the same user, before it expires.
    case refresh(token: String)
    /// Creates a room owned by the caller.
    case create(room: String, visibility: RoomVisibility)
    /// Joins the direct messages of the caller and `user` (one room per pair, whoever opens it).
    case dm(user: String)
    /// Lists the caller's rooms and the public ones.
    case rooms
    /// Makes `user` a member of a room (owners and moderators).
    case invite(room: String, user: String)
    /// Removes `user` from a room (owners and moderators).
    case kick(room: String, user: String)
    /// Removes `user` from a room and keeps them out; without a room, from the whole server (admins).
    case ban(room: String?, user: String)
    /// Lifts a ban.
    case unban(room: String?, user: String)
    /// Makes a member a moderator or a member again (owners).
    case role(room: String, user: String, role: RoomRole)
    /// Deletes the message at `offset`: its text is erased and the deletion is logged in the room.
    case delete(room: String, offset: Int64)
    /// Pages the users in a room by id: those after `after`, at most `limit` of them.
    case members(room: String, after: String?, limit: Int?)

    /// The command's `type` on the wire.
    public var type: String {
        switch self {
        case .hello: "hello"
        case .join: "join"
        case .send: "send"
        case .history: "history"
        case .typing: "typing"
        case .leave: "leave"
        case .ping: "ping"
        case .refresh: "refresh"
        case .create: "create"
        case .dm: "dm"
        case .rooms: "rooms"
        case .invite: "invite"
        case .kick: "kick"
        case .members: "members"
        case .ban: "ban"
        case .unban: "unban"
        case .role: "role"
        case .delete: "delete"
        }
    }
}

/// A decoded client frame: the command and the `ref` its reply must carry.
public struct ClientFrame: Sendable, Equatable {
    /// The client's correlation value (a string or a number), echoed in the reply.
    public var ref: Ref?
    /// The command.
    public var command: ClientCommand

    /// Creates a frame.
    public init(ref: Ref? = nil, command: ClientCommand) {
        self.ref = ref
        self.command = command
    }
}

/// Why a client frame was refused: the `error` frame to answer it with.
public struct CommandRejection: Error, Sendable, Equatable {
    /// The error code.
    public var code: ErrorCode
    /// A sentence saying what to fix.
    public var message: String
    /// The rejected command's `ref`, when it could be read.
    public var ref: Ref?
    /// The rejected command's `type`, when it could be read.
    public var type: String?

    /// Creates a rejection.
    public init(_ code: ErrorCode, _ message: String, ref: Ref? = nil, type: String? = nil) {
        self.code = code
        self.message = message
        self.ref = ref
        self.type = type
    }
}

extension ClientFrame {
    /// Decodes one text frame.
    /// - Parameter text: The frame's text.
    /// - Returns: The frame.
    /// - Throws: `CommandRejection` with `bad_request` (not JSON, not an object, a field missing or of the wrong
    ///   type, a key given twice) or `unknown_type`.
    public static func decode(_ text: String) throws(CommandRejection) -> ClientFrame {
        if let object = FlatCommandObject(text) { return try ClientFrame(fields: object) }
        return try decodeWithJSONDecoder(text)
    }

    /// What ``decode(_:)`` does with any command not read as a ``FlatCommandObject``, and what such a command would
    /// mean here too.
    static func decodeWithJSONDecoder(_ text: String) throws(CommandRejection) -> ClientFrame {
        do {
            let frame = try JSONDecoder().decode(ClientFrame.self, from: Data(text.utf8))
            guard !DuplicateKeys.occur(in: text) else {
                throw CommandRejection(
                    .badRequest,
                    "a key appears twice in one object; send each field once",
                    ref: frame.ref,
                    type: frame.command.type
                )
            }
            return frame
        } catch let rejection as CommandRejection {
            throw rejection
        } catch {
            throw CommandRejection(.badRequest, "a command must be one JSON object")
        }
    }
}

extension ClientFrame: Decodable {
    public init(from decoder: any Decoder) throws {
        guard let fields = try? decoder.container(keyedBy: FieldKey.self) else {
            throw CommandRejection(.badRequest, "a command must be one JSON object")
        }
        try self.init(fields: fields)
    }

    private init(fields: some CommandFields) throws(CommandRejection) {
        let ref = try FieldReader(fields: fields, ref: nil, type: nil).optionalRef()
        let type = try FieldReader(fields: fields, ref: ref, type: nil).requiredString("type")
        let command = try FieldReader(fields: fields, ref: ref, type: type).command()
        self.init(ref: ref, command: command)
    }
}

/// A command object's fields as ``FieldReader`` reads them: present or not, `null` or not, and of a type or not.
private protocol CommandFields {
    func contains(_ name: String) -> Bool
    func isNull(_ name: String) -> Bool
    func value<T: Decodable>(_ type: T.Type, of name: String) -> T?
}

extension KeyedDecodingContainer<FieldKey>: CommandFields {
    func contains(_ name: String) -> Bool { contains(FieldKey(name)) }
    func isNull(_ name: String) -> Bool { (try? decodeNil(forKey: FieldKey(name))) == true }
    func value<T: Decodable>(_ type: T.Type, of name: String) -> T? { try? decode(type, forKey: FieldKey(name)) }
}

extension FlatCommandObject: CommandFields {
    func contains(_ name: String) -> Bool { fields[name] != nil }
    func isNull(_ name: String) -> Bool { fields[name] == .some(nil) }

    /// Strings only (and a string `ref`): every value here is one, so a field that must be a number is of the wrong type.
    func value<T: Decodable>(_ type: T.Type, of name: String) -> T? {
        guard case let string?? = fields[name] else { return nil }
        return (string as? T) ?? (Ref(string) as? T)
    }
}

/// Any JSON object key.
struct FieldKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(_ name: String) { self.stringValue = name }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

/// Reads the fields of a command object, turning every problem into a `CommandRejection` that names the field.
private struct FieldReader<Fields: CommandFields> {
    let fields: Fields
    let ref: Ref?
    /// The command's type, once read; carried by every rejection so a session can tell hello from the rest.
    let type: String?

    func command() throws(CommandRejection) -> ClientCommand {
        switch type ?? "" {
        case "hello":
            return .hello(name: try optionalString("name"), token: try optionalString("token"))
        case "join":
            return .join(room: try requiredString("room"), since: try optionalOffset("since"))
        case "send":
            return .send(room: try requiredString("room"), text: try requiredString("text"), id: try clientID())
        case "history":
            return .history(room: try requiredString("room"), before: try optionalOffset("before"), limit: try optionalLimit())
        case "typing":
            return .typing(room: try requiredString("room"))
        case "leave":
            return .leave(room: try requiredString("room"))
        case "ping":
            return .ping
        case "refresh":
            return .refresh(token: try requiredString("token"))
        case "create":
            return .create(room: try requiredString("room"), visibility: try visibility())
        case "dm":
            return .dm(user: try requiredString("user"))
        case "rooms":
            return .rooms
        case "invite":
            return .invite(room: try requiredString("room"), user: try requiredString("user"))
        case "kick":
            return .kick(room: try requiredString("room"), user: try requiredString("user"))
        case "ban":
            return .ban(room: try optionalString("room"), user: try requiredString("user"))
        case "unban":
            return .unban(room: try optionalString("room"), user: try requiredString("user"))
        case "role":
            return .role(room: try requiredString("room"), user: try requiredString("user"), role: try assignableRole())
        case "delete":
            guard let offset = try optionalOffset("offset"), offset >= 1 else {
                throw CommandRejection(.badRequest, "field \"offset\" must be a message's offset (an integer ≥ 1)", ref: ref, type: type)
            }
            return .delete(room: try requiredString("room"), offset: offset)
        case "members":
            return .members(room: try requiredString("room"), after: try optionalString("after"), limit: try optionalLimit())
        case let other:
            throw CommandRejection(.unknownType, "unknown command type \"\(other.prefix(64))\"", ref: ref, type: type)
        }
    }

    func requiredString(_ name: String) throws(CommandRejection) -> String {
        guard let value = try optionalString(name) else {
            throw CommandRejection(.badRequest, "field \"\(name)\" is required", ref: ref, type: type)
        }
        return value
    }

    func optionalString(_ name: String) throws(CommandRejection) -> String? {
        guard fields.contains(name), !fields.isNull(name) else { return nil }
        guard let value = fields.value(String.self, of: name) else {
            throw CommandRejection(.badRequest, "field \"\(name)\" must be a string", ref: ref, type: type)
        }
        return value
    }

    func optionalRef() throws(CommandRejection) -> Ref? {
        guard fields.contains("ref"), !fields.isNull("ref") else { return nil }
        guard let value = fields.value(Ref.self, of: "ref") else {
            throw CommandRejection(.badRequest, "field \"ref\" must be a string or a number", ref: ref, type: type)
        }
        return value
    }

    func optionalOffset(_ name: String) throws(CommandRejection) -> Int64? {
        guard fields.contains(name), !fields.isNull(name) else { return nil }
        guard let value = fields.value(Int64.self, of: name), value >= 0 else {
            throw CommandRejection(.badRequest, "field \"\(name)\" must be an offset (an integer ≥ 0)", ref: ref, type: type)
        }
        return value
    }

    func optionalLimit() throws(CommandRejection) -> Int? {
        guard fields.contains("limit"), !fields.isNull("limit") else { return nil }
        guard let value = fields.value(Int.self, of: "limit"), value >= 1 else {
            throw CommandRejection(.badRequest, "field \"limit\" must be an integer ≥ 1", ref: ref, type: type)
        }
        return value
    }

    func visibility() throws(CommandRejection) -> RoomVisibility {
        guard let visibility = RoomVisibility(rawValue: try requiredString("visibility")) else {
            throw CommandRejection(.badRequest, "field \"visibility\" must be \"public\" or \"private\"", ref: ref, type: type)
        }
        return visibility
    }

    /// A role an owner may give: `moderator` or `member` (a room has one owner, its creator).
    func assignableRole() throws(CommandRejection) -> RoomRole {
        guard let role = RoomRole(rawValue: try requiredString("role")), role != .owner else {
            throw CommandRejection(.badRequest, "field \"role\" must be \"moderator\" or \"member\"", ref: ref, type: type)
        }
        return role
    }

    func clientID() throws(CommandRejection) -> String {
        let id = try requiredString("id")
        guard Names.isValidClientID(id) else {
            throw CommandRejection(.badRequest, "field \"id\" must be 1–128 bytes without U+0000", ref: ref, type: type)
        }
        return id
    }
}

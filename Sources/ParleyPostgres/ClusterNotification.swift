import Foundation
import ParleyCore
import ParleyProtocol

/// What travels between nodes on the `parley` NOTIFY channel, as JSON.
///
/// Messages are packed several to a notification, by `parley_append` (``PostgresAppendProcedure``) as it commits
/// them; one whose JSON alone would pass NOTIFY's 8,000-byte limit travels by reference (room and offset, no text)
/// and the receiving node reads it from the table.
enum ClusterNotification: Codable, Equatable {
    /// Messages committed by one transaction, in offset order.
    case messages([MessageNote])
    /// A user became present in (or absent from) a room on a node.
    case presence(node: String, room: String, user: UserRef, present: Bool)
    /// Someone on a node is typing.
    case typing(node: String, room: String, user: UserRef)
    /// A plain-mode client on a node disconnected.
    case plainClientLeft(node: String)
    /// A node stopped, or was found dead: its members have left.
    case nodeGone(node: String)

    /// The channel every node listens on.
    static let channel = "parley"
    /// The most bytes a payload may have (PostgreSQL refuses 8,000 and more).
    static let maxPayloadBytes = 7_900

    /// A message, whole or by reference.
    struct MessageNote: Codable, Equatable {
        var room: String
        var offset: Int64
        var senderID: String?
        var sender: String?
        var clientID: String?
        var text: String?
        var storedAt: Int64?
        /// For a deletion entry, the offset it deleted.
        var target: Int64?

        enum CodingKeys: String, CodingKey {
            case room = "r"
            case offset = "o"
            case senderID = "i"
            case sender = "s"
            case clientID = "c"
            case text = "t"
            case storedAt = "ts"
            case target = "g"
        }

        /// The message, or `nil` when only a reference travelled.
        var message: StoredMessage? {
            guard let senderID, let sender, let clientID, let text, let storedAt else { return nil }
            return StoredMessage(
                room: room,
                offset: offset,
                clientID: clientID,
                senderID: senderID,
                sender: sender,
                text: text,
                storedAt: storedAt,
                target: target
            )
        }
    }

    private enum CodingKeys: String, CodingKey {
        case kind = "k"
        case messages = "m"
        case node = "n"
        case room = "r"
        case name = "u"
        case userID = "i"
        case present = "p"
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        switch try container.decode(String.self, forKey: .kind) {
        case "m":
            self = .messages(try container.decode([MessageNote].self, forKey: .messages))
        case "p":
            self = .presence(
                node: try container.decode(String.self, forKey: .node),
                room: try container.decode(String.self, forKey: .room),
                user: try Self.user(in: container),
                present: try container.decode(Bool.self, forKey: .present)
            )
        case "t":
            self = .typing(
                node: try container.decode(String.self, forKey: .node),
                room: try container.decode(String.self, forKey: .room),
                user: try Self.user(in: container)
            )
        case "g":
            self = .nodeGone(node: try container.decode(String.self, forKey: .node))
        case "l":
            self = .plainClientLeft(node: try container.decode(String.self, forKey: .node))
        case let other:
            throw DecodingError.dataCorruptedError(forKey: .kind, in: container, debugDescription: "unknown kind \(other)")
        }
    }

    private static func user(in container: KeyedDecodingContainer<CodingKeys>) throws -> UserRef {
        UserRef(id: try container.decode(String.self, forKey: .userID), name: try container.decode(String.self, forKey: .name))
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .messages(let notes):
            try container.encode("m", forKey: .kind)
            try container.encode(notes, forKey: .messages)
        case .presence(let node, let room, let user, let present):
            try container.encode("p", forKey: .kind)
            try container.encode(node, forKey: .node)
            try container.encode(room, forKey: .room)
            try container.encode(user.name, forKey: .name)
            try container.encode(user.id, forKey: .userID)
            try container.encode(present, forKey: .present)
        case .typing(let node, let room, let user):
            try container.encode("t", forKey: .kind)
            try container.encode(node, forKey: .node)
            try container.encode(room, forKey: .room)
            try container.encode(user.name, forKey: .name)
            try container.encode(user.id, forKey: .userID)
        case .nodeGone(let node):
            try container.encode("g", forKey: .kind)
            try container.encode(node, forKey: .node)
        case .plainClientLeft(let node):
            try container.encode("l", forKey: .kind)
            try container.encode(node, forKey: .node)
        }
    }

    /// The JSON text of the notification.
    var payload: String {
        // Encoding these plain values cannot fail.
        String(decoding: try! JSONEncoder().encode(self), as: UTF8.self)
    }

    /// Decodes a payload; `nil` when it is not one of ours.
    init?(payload: String) {
        guard let decoded = try? JSONDecoder().decode(Self.self, from: Data(payload.utf8)) else { return nil }
        self = decoded
    }
}

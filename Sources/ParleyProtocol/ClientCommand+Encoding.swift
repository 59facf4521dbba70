#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

extension ClientFrame: Encodable {
    public func encode(to encoder: any Encoder) throws {
        var fields = encoder.container(keyedBy: FieldKey.self)
        try fields.encode(command.type, forKey: FieldKey("type"))
        try fields.encodeIfPresent(ref, forKey: FieldKey("ref"))
        switch command {
        case .hello(let name, let token):
            try fields.encodeIfPresent(name, forKey: FieldKey("name"))
            try fields.encodeIfPresent(token, forKey: FieldKey("token"))
        case .join(let room, let since):
            try fields.encode(room, forKey: FieldKey("room"))
            try fields.encodeIfPresent(since, forKey: FieldKey("since"))
        case .send(let room, let text, let id):
            try fields.encode(room, forKey: FieldKey("room"))
            try fields.encode(text, forKey: FieldKey("text"))
            try fields.encode(id, forKey: FieldKey("id"))
        case .history(let room, let before, let limit):
            try fields.encode(room, forKey: FieldKey("room"))
            try fields.encodeIfPresent(before, forKey: FieldKey("before"))
            try fields.encodeIfPresent(limit, forKey: FieldKey("limit"))
        case .typing(let room), .leave(let room):
            try fields.encode(room, forKey: FieldKey("room"))
        case .ping:
            break
        case .refresh(let token):
            try fields.encode(token, forKey: FieldKey("token"))
        case .create(let room, let visibility):
            try fields.encode(room, forKey: FieldKey("room"))
            try fields.encode(visibility, forKey: FieldKey("visibility"))
        case .dm(let user):
            try fields.encode(user, forKey: FieldKey("user"))
        case .rooms:
            break
        case .invite(let room, let user), .kick(let room, let user):
            try fields.encode(room, forKey: FieldKey("room"))
            try fields.encode(user, forKey: FieldKey("user"))
        case .ban(let room, let user), .unban(let room, let user):
            try fields.encodeIfPresent(room, forKey: FieldKey("room"))
            try fields.encode(user, forKey: FieldKey("user"))
        case .role(let room, let user, let role):
            try fields.encode(room, forKey: FieldKey("room"))
            try fields.encode(user, forKey: FieldKey("user"))
            try fields.encode(role, forKey: FieldKey("role"))
        case .delete(let room, let offset):
            try fields.encode(room, forKey: FieldKey("room"))
            try fields.encode(offset, forKey: FieldKey("offset"))
        case .members(let room, let after, let limit):
            try fields.encode(room, forKey: FieldKey("room"))
            try fields.encodeIfPresent(after, forKey: FieldKey("after"))
            try fields.encodeIfPresent(limit, forKey: FieldKey("limit"))
        }
    }

    /// The frame as the JSON text a client sends.
    public func jsonText() -> String {
        // Encoding strings and integers into a keyed container cannot fail.
        String(decoding: try! JSON.encoder().encode(self), as: UTF8.self)
    }
}

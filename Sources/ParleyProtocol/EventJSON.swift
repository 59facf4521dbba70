import Synchronization

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The events Parley sends most, written by hand: every message to every member, its sender's `ack`, typing and
/// presence, and a handshake's `welcome` and `joined` (whose member lists in a large room are up to twice the presence
/// list limit of entries). Foundation's `JSONEncoder` (sorted keys, a dictionary per object, dynamic casts) spent
/// about a tenth of the server's CPU filling a 10,000-member room (perf, issue 16). The same keys in the same sorted
/// order and the same escaping as ``JSON/encoder()``; tests hold the two to each other.
enum EventJSON {
    /// The event's bytes if it is one written by hand (a numeric `ref` is left to the encoder); otherwise `nil`.
    static func bytes(of event: ServerEvent) -> [UInt8]? {
        var object = JSONObjectWriter()
        switch event {
        case .message(let message):
            object.reserve(message.text.utf8.count + message.from.utf8.count + 160)
            if message.deleted { object.field("deleted", true) }
            object.field("from", message.from)
            object.field("fromId", message.fromId)
            object.field("id", message.id)
            object.field("offset", message.offset)
            object.field("room", message.room)
            object.field("text", message.text)
            object.field("ts", message.ts)
            object.field("type", "message")
        case .ack(let ref, let room, let id, let offset, let ts):
            object.reserve(160)
            object.field("id", id)
            object.field("offset", offset)
            guard object.field("ref", ref) else { return nil }
            object.field("room", room)
            object.field("ts", ts)
            object.field("type", "ack")
        case .typing(let room, let from):
            object.field("from", from.name)
            object.field("fromId", from.id)
            object.field("room", room)
            object.field("type", "typing")
        case .presence(let room, let change, let user):
            object.field("event", change.rawValue)
            object.field("room", room)
            object.field("type", "presence")
            object.field("user", user.name)
            object.field("userId", user.id)
        case .presenceCount(let room, let count):
            object.field("count", Int64(count))
            object.field("room", room)
            object.field("type", "presence")
        case .welcome(let ref, let session, let user, let limits, let expiresAt):
            object.reserve(512)
            if let expiresAt { object.field("expiresAt", expiresAt) }
            object.field("limits", json: encoded(limits))
            guard object.field("ref", ref) else { return nil }
            object.field("session", session)
            object.field("type", "welcome")
            var fields = JSONObjectWriter()
            fields.field("guest", user.guest)
            fields.field("id", user.id)
            fields.field("name", user.name)
            object.field("user", json: fields.finish())
        case .joined(let ref, let room, let head, let members, let users, let about):
            object.reserve(256 + users.reduce(0) { $0 + 2 * $1.name.utf8.count + $1.id.utf8.count + 24 })
            object.field("head", head)
            object.field("kind", about.kind.rawValue)
            if let memberCount = about.memberCount { object.field("memberCount", Int64(memberCount)) }
            object.field("members", members)
            if let peer = about.peer { object.field("peer", peer) }
            guard object.field("ref", ref) else { return nil }
            object.field("room", room)
            object.field("type", "joined")
            object.field("users", users)
            object.field("visibility", about.visibility.rawValue)
        default:
            return nil
        }
        return object.finish()
    }

    /// The last `Limits` encoded and its bytes: a server sends the same limits in every `welcome`.
    private static let lastLimits = Mutex<(limits: Limits, bytes: [UInt8])?>(nil)

    private static func encoded(_ limits: Limits) -> [UInt8] {
        if let last = lastLimits.withLock({ $0 }), last.limits == limits { return last.bytes }
        let bytes = Array(try! JSON.encoder().encode(limits))
        lastLimits.withLock { $0 = (limits, bytes) }
        return bytes
    }
}

/// Writes one flat JSON object, fields in the order given (callers give them sorted, as ``JSON/encoder()`` does).
struct JSONObjectWriter {
    private var bytes: [UInt8] = [UInt8(ascii: "{")]

    mutating func reserve(_ count: Int) {
        bytes.reserveCapacity(count)
    }

    mutating func field(_ key: StaticString, _ value: String) {
        self.key(key)
        Self.appendString(value, to: &bytes)
    }

    mutating func field(_ key: StaticString, _ value: Int64) {
        self.key(key)
        bytes.append(contentsOf: String(value).utf8)
    }

    mutating func field(_ key: StaticString, _ value: Bool) {
        self.key(key)
        bytes.append(contentsOf: (value ? "true" : "false").utf8)
    }

    /// Writes a string `ref`, or nothing without one; `false` for a numeric one, which is left to `JSONEncoder` (its
    /// `Decimal` has to come out as the encoder writes it).
    mutating func field(_ key: StaticString, _ ref: Ref?) -> Bool {
        guard let ref else { return true }
        guard let string = ref.string else { return false }
        field(key, string)
        return true
    }

    mutating func field(_ key: StaticString, _ user: UserRef) {
        self.key(key)
        appendUser(user)
    }

    mutating func field(_ key: StaticString, _ strings: [String]) {
        self.key(key)
        bytes.append(UInt8(ascii: "["))
        for (index, string) in strings.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            Self.appendString(string, to: &bytes)
        }
        bytes.append(UInt8(ascii: "]"))
    }

    mutating func field(_ key: StaticString, _ users: [UserRef]) {
        self.key(key)
        bytes.append(UInt8(ascii: "["))
        for (index, user) in users.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            appendUser(user)
        }
        bytes.append(UInt8(ascii: "]"))
    }

    /// A field whose value is JSON already.
    mutating func field(_ key: StaticString, json: [UInt8]) {
        self.key(key)
        bytes.append(contentsOf: json)
    }

    private mutating func appendUser(_ user: UserRef) {
        bytes.append(contentsOf: #"{"id":"#.utf8)
        Self.appendString(user.id, to: &bytes)
        bytes.append(contentsOf: #","name":"#.utf8)
        Self.appendString(user.name, to: &bytes)
        bytes.append(UInt8(ascii: "}"))
    }

    /// The object, closed.
    mutating func finish() -> [UInt8] {
        bytes.append(UInt8(ascii: "}"))
        return bytes
    }

    private mutating func key(_ key: StaticString) {
        if bytes.count > 1 { bytes.append(UInt8(ascii: ",")) }
        bytes.append(UInt8(ascii: "\""))
        key.withUTF8Buffer { bytes.append(contentsOf: $0) }
        bytes.append(contentsOf: #"":"#.utf8)
    }

    /// Appends `text` as a JSON string: quotes, backslashes and control characters escaped, the rest as UTF-8 (as
    /// `JSONEncoder` writes it). The runs between escapes are copied whole.
    private static func appendString(_ text: String, to bytes: inout [UInt8]) {
        var text = text
        text.withUTF8 { utf8 in
            bytes.append(UInt8(ascii: "\""))
            var runStart = 0
            for index in utf8.indices {
                let byte = utf8[index]
                guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
                bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<index]))
                appendEscaped(byte, to: &bytes)
                runStart = index + 1
            }
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart...]))
            bytes.append(UInt8(ascii: "\""))
        }
    }

    private static func appendEscaped(_ byte: UInt8, to bytes: inout [UInt8]) {
        switch byte {
        case UInt8(ascii: "\""): bytes.append(contentsOf: #"\""#.utf8)
        case UInt8(ascii: "\\"): bytes.append(contentsOf: #"\\"#.utf8)
        case UInt8(ascii: "\n"): bytes.append(contentsOf: #"\n"#.utf8)
        case UInt8(ascii: "\r"): bytes.append(contentsOf: #"\r"#.utf8)
        case UInt8(ascii: "\t"): bytes.append(contentsOf: #"\t"#.utf8)
        default:
            let hex = Array("0123456789abcdef".utf8)
            bytes.append(contentsOf: #"\u00"#.utf8)
            bytes.append(hex[Int(byte >> 4)])
            bytes.append(hex[Int(byte & 0xF)])
        }
    }
}

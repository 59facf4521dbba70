#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// `joined` with its member lists written by hand.
///
/// A `joined` lists up to the presence list limit of members twice (names, and ids with names): filling a large room
/// sends one per joiner, and Foundation's `JSONEncoder` spent about a tenth of the server's CPU on those lists (perf,
/// a 10,000-client fill). The rest of the event is encoded as every event is, with the lists empty, and the lists
/// are written into their places: with sorted keys the first `"members":[]` and `"users":[]` are the keys'
/// (inside a string value a quote is always escaped, so the exact bytes cannot occur there).
enum JoinedJSON {
    /// The event as `JSONEncoder` with ``JSON/encoder()`` would write it, up to whitespace and escaping choices.
    static func bytes(of event: ServerEvent, members: [String], users: [UserRef]) -> [UInt8] {
        let skeleton = Array(try! JSON.encoder().encode(event))
        // Where each list goes: just before the "]" of its key's empty list.
        let membersKey = Array(#""members":[]"#.utf8)
        let usersKey = Array(#""users":[]"#.utf8)
        guard let membersEnd = firstIndex(of: membersKey, in: skeleton).map({ $0 + membersKey.count - 1 }),
            let usersEnd = firstIndex(of: usersKey, in: skeleton).map({ $0 + usersKey.count - 1 }),
            membersEnd < usersEnd
        else { preconditionFailure("a joined without its two lists") }
        let listBytes = members.reduce(0) { $0 + $1.utf8.count + 3 } + users.reduce(0) { $0 + $1.id.utf8.count + $1.name.utf8.count + 20 }
        var encoded: [UInt8] = []
        encoded.reserveCapacity(skeleton.count + listBytes)
        // Sorted keys: "members" comes before "users".
        encoded.append(contentsOf: skeleton[..<membersEnd])
        for (index, name) in members.enumerated() {
            if index > 0 { encoded.append(UInt8(ascii: ",")) }
            appendString(name, to: &encoded)
        }
        encoded.append(contentsOf: skeleton[membersEnd..<usersEnd])
        for (index, user) in users.enumerated() {
            if index > 0 { encoded.append(UInt8(ascii: ",")) }
            encoded.append(contentsOf: #"{"id":"#.utf8)
            appendString(user.id, to: &encoded)
            encoded.append(contentsOf: #","name":"#.utf8)
            appendString(user.name, to: &encoded)
            encoded.append(UInt8(ascii: "}"))
        }
        encoded.append(contentsOf: skeleton[usersEnd...])
        return encoded
    }

    private static func firstIndex(of pattern: [UInt8], in bytes: [UInt8]) -> Int? {
        guard bytes.count >= pattern.count else { return nil }
        for start in 0...(bytes.count - pattern.count) where bytes[start] == pattern[0] {
            if bytes[start..<start + pattern.count].elementsEqual(pattern) { return start }
        }
        return nil
    }

    /// Appends `text` as a JSON string: quotes, backslashes and control characters escaped, the rest as UTF-8.
    static func appendString(_ text: String, to bytes: inout [UInt8]) {
        bytes.append(UInt8(ascii: "\""))
        defer { bytes.append(UInt8(ascii: "\"")) }
        // Most names and ids need no escaping: copied whole.
        if !text.utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) {
            bytes.append(contentsOf: text.utf8)
            return
        }
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): bytes.append(contentsOf: #"\""#.utf8)
            case UInt8(ascii: "\\"): bytes.append(contentsOf: #"\\"#.utf8)
            case UInt8(ascii: "\n"): bytes.append(contentsOf: #"\n"#.utf8)
            case UInt8(ascii: "\r"): bytes.append(contentsOf: #"\r"#.utf8)
            case UInt8(ascii: "\t"): bytes.append(contentsOf: #"\t"#.utf8)
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                bytes.append(contentsOf: #"\u00"#.utf8)
                bytes.append(hex[Int(byte >> 4)])
                bytes.append(hex[Int(byte & 0xF)])
            default: bytes.append(byte)
            }
        }
    }
}

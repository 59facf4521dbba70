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
        var encoded = Array(try! JSON.encoder().encode(event))
        var names: [UInt8] = []
        for (index, name) in members.enumerated() {
            if index > 0 { names.append(UInt8(ascii: ",")) }
            appendString(name, to: &names)
        }
        var people: [UInt8] = []
        for (index, user) in users.enumerated() {
            if index > 0 { people.append(UInt8(ascii: ",")) }
            people.append(contentsOf: #"{"id":"#.utf8)
            appendString(user.id, to: &people)
            people.append(contentsOf: #","name":"#.utf8)
            appendString(user.name, to: &people)
            people.append(UInt8(ascii: "}"))
        }
        fill(#""users":[]"#, with: people, in: &encoded)
        fill(#""members":[]"#, with: names, in: &encoded)
        return encoded
    }

    /// Puts `contents` between the brackets of the first `key` (`"name":[]`) in `bytes`.
    private static func fill(_ key: String, with contents: [UInt8], in bytes: inout [UInt8]) {
        let pattern = Array(key.utf8)
        guard let start = firstIndex(of: pattern, in: bytes) else { return }
        bytes.insert(contentsOf: contents, at: start + pattern.count - 1)
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
        bytes.append(UInt8(ascii: "\""))
    }
}

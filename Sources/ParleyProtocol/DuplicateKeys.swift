#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Finds a key that appears twice in one JSON object. JSON parsers disagree on such input (Foundation's keeps the
/// first value, browsers' `JSON.parse` the last), so a command that means one thing to a client-side filter and
/// another to the server is refused instead of being guessed at.
enum DuplicateKeys {
    /// Whether any object in `json`, at any depth, has a key twice (compared after unescaping).
    /// - Parameter json: A document that already parsed as JSON.
    static func occur(in json: String) -> Bool {
        let bytes = Array(json.utf8)
        var objects: [Set<String>?] = []
        var awaitingKey = false
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            index += 1
            switch byte {
            case UInt8(ascii: "{"):
                objects.append([])
                awaitingKey = true
            case UInt8(ascii: "["):
                objects.append(nil)
                awaitingKey = false
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                _ = objects.popLast()
                awaitingKey = false
            case UInt8(ascii: ","):
                awaitingKey = objects.last.map { $0 != nil } ?? false
            case UInt8(ascii: "\""):
                let start = index
                var escaped = false
                while index < bytes.count {
                    let character = bytes[index]
                    index += 1
                    if escaped {
                        escaped = false
                    } else if character == UInt8(ascii: "\\") {
                        escaped = true
                    } else if character == UInt8(ascii: "\"") {
                        break
                    }
                }
                guard awaitingKey, objects.last != nil else { continue }
                awaitingKey = false
                let key = key(bytes[start..<max(start, index - 1)])
                guard objects[objects.count - 1]!.insert(key).inserted else { return true }
            default:
                continue
            }
        }
        return false
    }

    /// A key as its bytes between the quotes spell it, escapes decoded.
    private static func key(_ raw: ArraySlice<UInt8>) -> String {
        guard raw.contains(UInt8(ascii: "\\")) else { return String(decoding: raw, as: UTF8.self) }
        let quoted = [UInt8(ascii: "\"")] + raw + [UInt8(ascii: "\"")]
        return (try? JSONDecoder().decode(String.self, from: Data(quoted))) ?? String(decoding: raw, as: UTF8.self)
    }
}

/// A command object whose values are all strings or `null`, with no escapes and no key twice, read without
/// `JSONDecoder` (about 4% of a parley.v1 handshake's CPU went to it). `hello`, `join`, `send`, `typing` and most
/// other commands look like this. Anything else (numbers, escapes, nesting, bad JSON) is not read here and goes to
/// `JSONDecoder`, so what a command means, and how bad input is refused, stays the decoder's.
struct FlatCommandObject {
    /// The fields, by key: a string, or `nil` for `null`.
    let fields: [String: String?]

    /// Reads `text`, or returns `nil` for anything not of that simple shape.
    init?(_ text: String) {
        var text = text
        guard let fields = text.withUTF8(Self.fields(in:)) else { return nil }
        self.fields = fields
    }

    private static func fields(in bytes: UnsafeBufferPointer<UInt8>) -> [String: String?]? {
        var index = 0
        func skipWhitespace() {
            while index < bytes.count, isWhitespace(bytes[index]) { index += 1 }
        }
        func take(_ byte: UInt8) -> Bool {
            skipWhitespace()
            guard index < bytes.count, bytes[index] == byte else { return false }
            index += 1
            return true
        }
        /// A string without escapes or control characters (the text is valid UTF-8 already, being a `String`).
        func string() -> String? {
            guard take(UInt8(ascii: "\"")) else { return nil }
            let start = index
            while index < bytes.count {
                let byte = bytes[index]
                if byte == UInt8(ascii: "\"") {
                    index += 1
                    return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index - 1]), as: UTF8.self)
                }
                guard byte >= 0x20, byte != UInt8(ascii: "\\") else { return nil }
                index += 1
            }
            return nil
        }
        guard take(UInt8(ascii: "{")) else { return nil }
        var fields: [String: String?] = [:]
        if take(UInt8(ascii: "}")) { return Self.atEnd(bytes, from: index) ? fields : nil }
        repeat {
            guard let key = string(), fields[key] == nil, take(UInt8(ascii: ":")) else { return nil }
            skipWhitespace()
            if bytes[index...].starts(with: "null".utf8) {
                index += 4
                fields[key] = .some(nil)
            } else {
                guard let value = string() else { return nil }
                fields[key] = value
            }
        } while take(UInt8(ascii: ","))
        guard take(UInt8(ascii: "}")) else { return nil }
        return Self.atEnd(bytes, from: index) ? fields : nil
    }

    /// Whether only JSON whitespace follows `index`.
    private static func atEnd(_ bytes: UnsafeBufferPointer<UInt8>, from index: Int) -> Bool {
        bytes[index...].allSatisfy(isWhitespace)
    }

    /// JSON's whitespace: space, tab, line feed, carriage return.
    private static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D
    }
}

import NIOCore
import ParleyProtocol

/// How bench messages carry their scheduled send time: in the id and in the text.
///
/// Deliveries are read straight from the received bytes, without a JSON decoder or a `String`: the bench must not be
/// the slower side.
enum BenchMessage {
    static func command(room: String, sender: Int, sequence: Int, scheduledAt: Duration, padding: String) -> String {
        let nanos = scheduledAt.nanoseconds
        let id = "\(sender)-\(sequence)-\(nanos)"
        return ClientFrame(command: .send(room: room, text: "bench|\(nanos)|\(padding)", id: id)).jsonText()
    }

    /// A plain-dialect text: `bench|NANOS|SENDER|SEQUENCE|padding`.
    static func plainText(sender: Int, sequence: Int, scheduledAt: Duration, padding: String) -> String {
        "bench|\(scheduledAt.nanoseconds)|\(sender)|\(sequence)|\(padding)"
    }

    /// Reads a plain-dialect text as a broadcast server returns it (any prefix, e.g. `Mensagem recebida: `);
    /// `nil` for other texts.
    static func parsePlain(_ text: ByteBuffer) -> (scheduledNanos: Int64, sender: Int, sequence: Int64)? {
        text.withUnsafeReadableBytes { bytes in
            var position = 0
            guard let nanos = integer(after: "bench|", in: bytes, from: &position),
                let sender = integer(after: "|", in: bytes, from: &position),
                let sequence = integer(after: "|", in: bytes, from: &position)
            else { return nil }
            return (nanos, Int(sender), sequence)
        }
    }

    /// Reads a bench `message` frame. Relies on the server writing keys in sorted order
    /// (`…"offset":N,"room":…,"text":"bench|NANOS|…`); any other frame gives `nil` and is decoded in full.
    static func parseDelivery(_ frame: ByteBuffer) -> (offset: Int64, scheduledNanos: Int64)? {
        frame.withUnsafeReadableBytes { bytes in
            let suffix: StaticString = #""type":"message"}"#
            guard bytes.count > suffix.utf8CodeUnitCount,
                suffix.withUTF8Buffer({ bytes.suffix($0.count).elementsEqual($0) })
            else { return nil }
            var position = 0
            guard let offset = integer(after: #""offset":"#, in: bytes, from: &position),
                let nanos = integer(after: #""text":"bench|"#, in: bytes, from: &position)
            else { return nil }
            return (offset, nanos)
        }
    }

    /// The head of a `joined` frame, read without decoding its member lists (in a large room up to twice the presence
    /// list limit of entries, one `joined` per client: decoding them made the bench the slower side of a fill). Relies
    /// on sorted keys (`{"head":N,…`); any other frame gives `nil`.
    static func parseJoinedHead(_ frame: ByteBuffer) -> Int64? {
        frame.withUnsafeReadableBytes { bytes in
            let prefix: StaticString = #"{"head":"#
            guard bytes.count > prefix.utf8CodeUnitCount,
                prefix.withUTF8Buffer({ bytes.prefix($0.count).elementsEqual($0) }),
                find(#""type":"joined""#, in: bytes, from: 0) != nil
            else { return nil }
            var position = 0
            return integer(after: prefix, in: bytes, from: &position)
        }
    }

    /// Whether a parley.v1 frame is a `presence` or `typing` announcement, which the bench does not count: a big
    /// room's joins bring thousands. (In JSON text a quote inside a value is escaped, so the pattern cannot match
    /// the inside of a message.)
    static func isAnnouncement(_ frame: ByteBuffer) -> Bool {
        frame.withUnsafeReadableBytes { bytes in
            find(#""type":"presence""#, in: bytes, from: 0) != nil || find(#""type":"typing""#, in: bytes, from: 0) != nil
        }
    }

    /// The integer right after the first `marker` at or after `position`, which is advanced past it.
    private static func integer(after marker: StaticString, in bytes: UnsafeRawBufferPointer, from position: inout Int) -> Int64? {
        guard let found = find(marker, in: bytes, from: position) else { return nil }
        var cursor = found + marker.utf8CodeUnitCount
        var value: Int64 = 0
        var digits = 0
        while cursor < bytes.count, digits < 19, let digit = bytes[cursor].asciiDigit {
            value = value * 10 + Int64(digit)
            digits += 1
            cursor += 1
        }
        guard digits > 0 else { return nil }
        position = cursor
        return value
    }

    /// Where `pattern` first occurs in `bytes` at or after `start`.
    private static func find(_ pattern: StaticString, in bytes: UnsafeRawBufferPointer, from start: Int) -> Int? {
        pattern.withUTF8Buffer { pattern in
            guard let first = pattern.first, bytes.count - start >= pattern.count else { return nil }
            for index in start...(bytes.count - pattern.count) where bytes[index] == first {
                if UnsafeRawBufferPointer(rebasing: bytes[index..<(index + pattern.count)]).elementsEqual(pattern) {
                    return index
                }
            }
            return nil
        }
    }

    /// The scheduled time in a message text (`bench|NANOS|…`) or id (`SENDER-SEQ-NANOS`).
    static func scheduledTime(in field: String) -> Duration? {
        let nanos: Int64?
        if field.hasPrefix("bench|") {
            nanos = field.split(separator: "|", maxSplits: 2).dropFirst().first.flatMap { Int64($0) }
        } else {
            nanos = field.split(separator: "-").last.flatMap { Int64($0) }
        }
        return nanos.map { .nanoseconds($0) }
    }
}

extension UInt8 {
    fileprivate var asciiDigit: UInt8? {
        self >= UInt8(ascii: "0") && self <= UInt8(ascii: "9") ? self - UInt8(ascii: "0") : nil
    }
}

import NIOCore
import ParleyProtocol

/// Encodes what the server sends into complete WebSocket frames, ready for the socket.
///
/// Server frames are not masked (RFC 6455 §5.1), so a frame's bytes are the same for every receiver: fan-out
/// frames a message once and every member's connection writes that one buffer as it is.
public enum Frame {
    /// The event as one text frame.
    public static func encode(_ event: ServerEvent) -> ByteBuffer {
        text(bytes: event.jsonBytes())
    }

    /// A plain text as one text frame.
    public static func text(_ text: String) -> ByteBuffer {
        self.text(bytes: Array(text.utf8))
    }

    /// A close frame with a status code and a reason (at most 123 bytes), or an empty one when `code` is `nil`.
    public static func close(code: UInt16?, reason: String = "") -> ByteBuffer {
        var payload: [UInt8] = []
        if let code {
            payload = [UInt8(code >> 8), UInt8(code & 0xFF)] + reason.utf8.prefix(123)
        }
        return frame(opcode: 0x8, payload: payload)
    }

    /// A pong echoing a ping's payload.
    public static func pong(echoing payload: ByteBuffer) -> ByteBuffer {
        frame(opcode: 0xA, payload: payload.readableBytesView)
    }

    /// A ping carrying eight bytes, which the client's pong echoes.
    public static func ping(_ payload: UInt64) -> ByteBuffer {
        withUnsafeBytes(of: payload.bigEndian) { frame(opcode: 0x9, payload: $0) }
    }

    /// UTF-8 bytes as one text frame.
    static func text<Bytes: Collection<UInt8>>(bytes payload: Bytes) -> ByteBuffer {
        frame(opcode: 0x1, payload: payload)
    }

    /// One final frame: FIN and the opcode, then the payload length in 7, 7+16 or 7+64 bits, no mask.
    static func frame<Bytes: Collection<UInt8>>(opcode: UInt8, payload: Bytes) -> ByteBuffer {
        var frame = ByteBuffer()
        frame.reserveCapacity(payload.count + 10)
        frame.writeInteger(0x80 | opcode)
        switch payload.count {
        case ..<126:
            frame.writeInteger(UInt8(payload.count))
        case ...0xFFFF:
            frame.writeInteger(UInt8(126))
            frame.writeInteger(UInt16(payload.count))
        default:
            frame.writeInteger(UInt8(127))
            frame.writeInteger(UInt64(payload.count))
        }
        frame.writeBytes(payload)
        return frame
    }

    /// The payload of a frame made here (for tests and logs).
    public static func payload(of frame: ByteBuffer) -> String {
        var frame = frame
        guard let length = frame.readInteger(as: UInt16.self).map({ $0 & 0x7F }) else { return "" }
        switch length {
        case 126: frame.moveReaderIndex(forwardBy: 2)
        case 127: frame.moveReaderIndex(forwardBy: 8)
        default: break
        }
        return String(buffer: frame)
    }
}

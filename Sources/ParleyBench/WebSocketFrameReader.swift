import NIOCore

/// The messages a server sends, read straight from the connection's bytes (RFC 6455, client side).
///
/// NIO's `WebSocketFrameDecoder` and `NIOWebSocketFrameAggregator` took half of the bench's CPU at 100,000
/// deliveries a second, where nearly every read holds whole small text frames, and with one core for all its
/// clients the bench's own delays would show up as the server's latency. A frame that arrives whole becomes a slice
/// of the bytes read, without a copy; a frame split across reads waits for the rest; fragments of a message are
/// joined. Anything RFC 6455 forbids a server to send is a ``ProtocolViolation``, after which the client closes.
struct WebSocketFrameReader {
    /// One whole message, or a control frame.
    enum Message: Equatable {
        case text(ByteBuffer)
        case binary(ByteBuffer)
        case ping(ByteBuffer)
        case pong(ByteBuffer)
        case close(ByteBuffer)
    }

    /// What the server sent breaks RFC 6455, or the reader's size limits.
    struct ProtocolViolation: Error, Equatable, CustomStringConvertible {
        let description: String
    }

    private struct Frame {
        let isFinal: Bool
        let opcode: UInt8
        let payload: ByteBuffer
    }

    /// The largest payload one frame may carry.
    let maxFrameSize: Int
    /// The largest message its fragments may add up to.
    let maxMessageSize: Int
    /// The start of a frame that has not arrived whole.
    private var unread: ByteBuffer?
    /// A message whose final fragment has not arrived: its opcode and its payload so far.
    private var fragments: (opcode: UInt8, payload: ByteBuffer)?

    init(maxFrameSize: Int, maxMessageSize: Int) {
        self.maxFrameSize = maxFrameSize
        self.maxMessageSize = maxMessageSize
    }

    /// Reads `bytes`, the next ones from the connection, and hands each message they complete to `receive`, in order.
    mutating func read(_ bytes: ByteBuffer, _ receive: (Message) -> Void) throws(ProtocolViolation) {
        var buffer = bytes
        if var unread = unread.take() {
            unread.writeImmutableBuffer(bytes)
            buffer = unread
        }
        while let frame = try nextFrame(from: &buffer) {
            if let message = try assemble(frame) { receive(message) }
        }
        if buffer.readableBytes > 0 { unread = buffer }
    }

    private func nextFrame(from buffer: inout ByteBuffer) throws(ProtocolViolation) -> Frame? {
        let start = buffer.readerIndex
        guard let first = buffer.getInteger(at: start, as: UInt8.self),
            let second = buffer.getInteger(at: start + 1, as: UInt8.self)
        else { return nil }
        guard first & 0x70 == 0 else { throw ProtocolViolation(description: "a frame has reserved bits set") }
        guard second & 0x80 == 0 else { throw ProtocolViolation(description: "a server's frame is masked") }
        var headerLength = 2
        var length = UInt64(second & 0x7F)
        if length == 126 {
            guard let extended = buffer.getInteger(at: start + 2, as: UInt16.self) else { return nil }
            (length, headerLength) = (UInt64(extended), 4)
        } else if length == 127 {
            guard let extended = buffer.getInteger(at: start + 2, as: UInt64.self) else { return nil }
            (length, headerLength) = (extended, 10)
        }
        guard length <= UInt64(maxFrameSize) else {
            throw ProtocolViolation(description: "a frame of \(length) bytes is over the limit of \(maxFrameSize)")
        }
        guard buffer.readableBytes >= headerLength + Int(length) else { return nil }
        buffer.moveReaderIndex(forwardBy: headerLength)
        let payload = buffer.readSlice(length: Int(length))!
        return Frame(isFinal: first & 0x80 != 0, opcode: first & 0x0F, payload: payload)
    }

    private mutating func assemble(_ frame: Frame) throws(ProtocolViolation) -> Message? {
        switch frame.opcode {
        case 0x8, 0x9, 0xA:
            guard frame.isFinal, frame.payload.readableBytes <= 125 else {
                throw ProtocolViolation(description: "a control frame is fragmented or longer than 125 bytes")
            }
            return switch frame.opcode {
            case 0x8: .close(frame.payload)
            case 0x9: .ping(frame.payload)
            default: .pong(frame.payload)
            }
        case 0x1, 0x2:
            guard fragments == nil else {
                throw ProtocolViolation(description: "a message began before the last one's final fragment")
            }
            guard frame.isFinal else {
                fragments = (frame.opcode, frame.payload)
                return nil
            }
            return Self.message(frame.opcode, frame.payload)
        case 0x0:
            guard var message = fragments.take() else {
                throw ProtocolViolation(description: "a continuation frame continues no message")
            }
            guard message.payload.readableBytes + frame.payload.readableBytes <= maxMessageSize else {
                throw ProtocolViolation(description: "a fragmented message is over the limit of \(maxMessageSize) bytes")
            }
            message.payload.writeImmutableBuffer(frame.payload)
            guard frame.isFinal else {
                fragments = message
                return nil
            }
            return Self.message(message.opcode, message.payload)
        default:
            throw ProtocolViolation(description: "a frame has the unknown opcode \(frame.opcode)")
        }
    }

    private static func message(_ opcode: UInt8, _ payload: ByteBuffer) -> Message {
        opcode == 0x1 ? .text(payload) : .binary(payload)
    }
}

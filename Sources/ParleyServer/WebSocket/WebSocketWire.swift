import Crypto
import Foundation
import NIOCore
import NIOWebSocket

/// RFC 6455 on the wire, for a connection that has only its own handler in its pipeline: the upgrade's accept key
/// and the parsing of client frames.
enum WebSocketWire {
    /// What ``parseFrame(from:maxPayload:)`` found at the start of the buffer.
    enum Parsed {
        /// A whole frame, consumed from the buffer; its payload is still masked.
        case frame(WebSocketFrame)
        /// The frame is not all there yet; nothing was consumed.
        case needMoreBytes
        /// The frame's payload is over the limit; nothing was consumed.
        case tooLarge
    }

    /// Parses one frame (RFC 6455 §5.2) from the start of `buffer`, refusing payloads over `maxPayload` as soon as
    /// their length is read.
    static func parseFrame(from buffer: inout ByteBuffer, maxPayload: Int) -> Parsed {
        let start = buffer.readerIndex
        guard let first = buffer.getInteger(at: start, as: UInt8.self),
            let second = buffer.getInteger(at: start + 1, as: UInt8.self)
        else { return .needMoreBytes }
        var headerLength = 2
        var length = Int(second & 0x7F)
        if length == 126 {
            guard let extended = buffer.getInteger(at: start + 2, as: UInt16.self) else { return .needMoreBytes }
            length = Int(extended)
            headerLength = 4
        } else if length == 127 {
            guard let extended = buffer.getInteger(at: start + 2, as: UInt64.self) else { return .needMoreBytes }
            guard extended <= UInt64(maxPayload) else { return .tooLarge }
            length = Int(extended)
            headerLength = 10
        }
        guard length <= maxPayload else { return .tooLarge }
        var maskKey: WebSocketMaskingKey?
        if second & 0x80 != 0 {
            guard let key = buffer.getBytes(at: start + headerLength, length: 4) else { return .needMoreBytes }
            maskKey = WebSocketMaskingKey(key)
            headerLength += 4
        }
        guard buffer.readableBytes >= headerLength + length,
            let payload = buffer.getSlice(at: start + headerLength, length: length)
        else { return .needMoreBytes }
        buffer.moveReaderIndex(forwardBy: headerLength + length)
        let frame = WebSocketFrame(
            fin: first & 0x80 != 0,
            rsv1: first & 0x40 != 0,
            rsv2: first & 0x20 != 0,
            rsv3: first & 0x10 != 0,
            opcode: WebSocketOpcode(encodedWebSocketOpcode: first & 0x0F)!,
            maskKey: maskKey,
            data: payload
        )
        return .frame(frame)
    }

    /// A connection's frames across its reads: keeps the start of a frame that has not all arrived for the next read.
    ///
    /// Only that start is kept: the bytes already parsed are dropped before the next read is appended, so a client
    /// that streams frames across read boundaries holds at most one read and one frame, not everything it sent.
    struct FrameReader {
        let maxPayload: Int
        private var unparsed: ByteBuffer?

        init(maxPayload: Int) {
            self.maxPayload = maxPayload
        }

        /// Bytes of storage held between reads, for tests of that bound.
        var heldCapacity: Int { unparsed?.capacity ?? 0 }

        /// Parses what `bytes`, after what earlier reads left, holds: `body` gets each whole frame and returns whether
        /// to go on. Whatever does not make a whole frame is kept for the next read.
        /// - Returns: `false` if a frame's payload is over ``maxPayload`` (nothing after it is parsed).
        mutating func read(_ bytes: ByteBuffer, _ body: (WebSocketFrame) -> Bool) -> Bool {
            var bytes = bytes
            if var unparsed = unparsed.take() {
                unparsed.writeBuffer(&bytes)
                bytes = unparsed
            }
            while true {
                switch parseFrame(from: &bytes, maxPayload: maxPayload) {
                case .frame(let frame):
                    guard body(frame) else { return true }
                case .needMoreBytes:
                    if bytes.readableBytes > 0 {
                        bytes.discardReadBytes()
                        unparsed = bytes
                    }
                    return true
                case .tooLarge:
                    return false
                }
            }
        }
    }

    /// The `Sec-WebSocket-Accept` answering a client's `Sec-WebSocket-Key` (RFC 6455 §4.2.2).
    static func acceptValue(forKey key: String) -> String {
        let digest = Insecure.SHA1.hash(data: Array((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").utf8))
        return Data(digest).base64EncodedString()
    }
}

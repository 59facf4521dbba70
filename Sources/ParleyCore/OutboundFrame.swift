import NIOCore
import ParleyProtocol

/// What one connection is sent, ready for its transport: bytes its writer writes as they are, never re-encoded per
/// receiver. The hub encodes a fanned-out message once per ``FrameFormat`` and every member whose connection uses
/// that format gets the same buffer.
public struct OutboundFrame: Sendable, Equatable {
    /// The bytes, framed for the connection's transport.
    public let bytes: ByteBuffer

    /// Wraps bytes already framed for a transport.
    public init(_ bytes: ByteBuffer) {
        self.bytes = bytes
    }
}

/// How a connection's transport frames what it is sent. The session and the hub speak of events and texts; only
/// this says what they become on the wire.
public enum FrameFormat: Sendable {
    /// RFC 6455 frames, unmasked (``Frame``): the same bytes for every receiver.
    case webSocket

    /// A parley.v1 event, framed for this format.
    public func encode(_ event: ServerEvent) -> OutboundFrame {
        switch self {
        case .webSocket: OutboundFrame(Frame.encode(event))
        }
    }

    /// A plain-mode text, framed for this format.
    public func text(_ text: String) -> OutboundFrame {
        switch self {
        case .webSocket: OutboundFrame(Frame.text(text))
        }
    }
}

/// One thing to send, encoded once for every ``FrameFormat`` before fan-out (outside the hub's lock), so that each
/// receiver gets the buffer of its own format.
public struct FormatEncodings: Sendable {
    private let webSocket: OutboundFrame

    /// Encodes with `encode` for every format.
    public init(_ encode: (FrameFormat) -> OutboundFrame) {
        webSocket = encode(.webSocket)
    }

    /// The frame for `format`.
    public subscript(format: FrameFormat) -> OutboundFrame {
        switch format {
        case .webSocket: webSocket
        }
    }
}

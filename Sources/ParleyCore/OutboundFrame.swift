import NIOCore
import ParleyProtocol

/// What one connection is sent, ready for its transport: bytes its writer writes as they are, never re-encoded per
/// receiver. The hub encodes a fanned-out message once per ``FrameFormat`` and every member whose connection uses
/// that format gets the same buffer.
public struct OutboundFrame: Sendable, Equatable {
    /// The bytes, framed for the connection's transport.
    public let bytes: ByteBuffer
    /// The tag of the room the frame belongs to (``tag(of:)``), so that a connection removed from a room can drop
    /// what is still queued for it; 0 for a frame of no room.
    package let room: Int

    /// Wraps bytes already framed for a transport.
    /// - Parameter room: The tag of the room the frame belongs to, if any.
    public init(_ bytes: ByteBuffer, room: Int = 0) {
        self.bytes = bytes
        self.room = room
    }

    /// The tag of a room's frames: a hash of its name, never 0 (the same for every frame of the room in this process).
    package static func tag(of room: String) -> Int {
        room.hashValue | 1
    }
}

/// How a connection's transport frames what it is sent. The session and the hub speak of events and texts; only
/// this says what they become on the wire.
public enum FrameFormat: Sendable {
    /// RFC 6455 frames, unmasked (``Frame``): the same bytes for every receiver.
    case webSocket

    /// A parley.v1 event, framed for this format (and tagged with its room, for what belongs to one).
    public func encode(_ event: ServerEvent) -> OutboundFrame {
        let room = event.roomItBelongsTo.map(OutboundFrame.tag(of:)) ?? 0
        return switch self {
        case .webSocket: OutboundFrame(Frame.encode(event), room: room)
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

extension ServerEvent {
    /// The room whose stream the event is part of: what a member removed from the room must stop receiving.
    var roomItBelongsTo: String? {
        switch self {
        case .message(let message): message.room
        case .deleted(let room, _, _, _), .presence(let room, _, _), .presenceCount(let room, _), .typing(let room, _): room
        default: nil
        }
    }
}

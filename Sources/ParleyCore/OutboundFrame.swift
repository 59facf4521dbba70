import NIOCore
import ParleyProtocol
import Synchronization

/// What one connection is sent, ready for its transport: bytes its writer writes as they are, never re-encoded per
/// receiver. The hub encodes a fanned-out message once per ``FrameFormat`` and every member whose connection uses
/// that format gets the same buffer.
public struct OutboundFrame: Sendable, Equatable {
    /// The bytes, framed for the connection's transport.
    public let bytes: ByteBuffer
    /// The tag of the room the frame belongs to (``tag(of:)``), so that a connection removed from a room can drop
    /// what is still queued for it; 0 for a frame of no room.
    package let room: Int
    /// The offset of the stored entry the frame carries (a message, a deletion) in an event stream, whose cursor it
    /// moves; 0 otherwise.
    package let offset: Int64

    /// Wraps bytes already framed for a transport.
    /// - Parameters:
    ///   - room: The tag of the room the frame belongs to, if any.
    ///   - offset: The offset of the stored entry it carries, for an event stream's cursor.
    public init(_ bytes: ByteBuffer, room: Int = 0, offset: Int64 = 0) {
        self.bytes = bytes
        self.room = room
        self.offset = offset
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
    /// Server-Sent Events (`event:` the parley.v1 type, `data:` its JSON, a blank line); the stream's writer adds
    /// the `id:` cursor, which is its own.
    case serverSentEvents

    /// A parley.v1 event, framed for this format (and tagged with its room, for what belongs to one).
    public func encode(_ event: ServerEvent) -> OutboundFrame {
        let room = event.roomItBelongsTo.map(OutboundFrame.tag(of:)) ?? 0
        switch self {
        case .webSocket:
            return OutboundFrame(Frame.encode(event), room: room)
        case .serverSentEvents:
            let json = event.jsonBytes()
            var bytes = ByteBuffer()
            bytes.reserveCapacity(json.count + 32)
            bytes.writeString("event: \(event.type)\ndata: ")
            bytes.writeBytes(json)
            bytes.writeString("\n\n")
            return OutboundFrame(bytes, room: room, offset: event.storedOffset ?? 0)
        }
    }

    /// A plain-mode text, framed for this format (event streams carry parley.v1 only: a text is a `text` event).
    public func text(_ text: String) -> OutboundFrame {
        switch self {
        case .webSocket: OutboundFrame(Frame.text(text))
        case .serverSentEvents:
            OutboundFrame(ByteBuffer(string: "event: text\ndata: \(text.split(separator: "\n").joined(separator: "\ndata: "))\n\n"))
        }
    }
}

/// One thing to send, encoded once for every ``FrameFormat`` in use before fan-out (outside the hub's lock), so that
/// each receiver gets the buffer of its own format. The event-stream encoding is made only while a stream is open on
/// this node (a stream that opens during a fan-out gets its frame made for it).
public struct FormatEncodings: Sendable {
    /// What was encoded, for a format encoded only when a receiver turns out to need it.
    private enum Source {
        case event(ServerEvent)
        case text(String)
    }

    private let source: Source
    private let webSocket: OutboundFrame
    private let serverSentEvents: OutboundFrame?

    /// Encodes an event.
    public init(_ event: ServerEvent) {
        source = .event(event)
        webSocket = FrameFormat.webSocket.encode(event)
        serverSentEvents = EventStreams.anyOpen ? FrameFormat.serverSentEvents.encode(event) : nil
    }

    /// Encodes a plain-mode text (for plain clients, which are WebSockets: no stream's frame is made ahead).
    public init(text: String) {
        source = .text(text)
        webSocket = FrameFormat.webSocket.text(text)
        serverSentEvents = nil
    }

    /// The frame for `format`.
    public subscript(format: FrameFormat) -> OutboundFrame {
        switch format {
        case .webSocket: webSocket
        case .serverSentEvents: serverSentEvents ?? Self.encode(source, as: .serverSentEvents)
        }
    }

    private static func encode(_ source: Source, as format: FrameFormat) -> OutboundFrame {
        switch source {
        case .event(let event): format.encode(event)
        case .text(let text): format.text(text)
        }
    }
}

/// How many event streams are open in this process: fan-out encodes for them only while there are some.
package enum EventStreams {
    private static let open = Atomic<Int>(0)

    static var anyOpen: Bool { open.load(ordering: .relaxed) > 0 }

    static func opened() { open.add(1, ordering: .relaxed) }

    static func closed() { open.subtract(1, ordering: .relaxed) }
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

    /// The offset of the stored entry the event carries: a message's, a deletion's.
    var storedOffset: Int64? {
        switch self {
        case .message(let message): message.offset
        case .deleted(_, let offset, _, _): offset
        default: nil
        }
    }
}

import HTTPTypes
import HummingbirdCore
import NIOCore
import NIOHTTPTypes
import ParleyCore
import ParleyProtocol

/// Writes an event stream's outbox to its connection on the event loop, as ``WebSocketConnection`` does: a message
/// fanned out to a room wakes each event loop once (``DrainQueue``), and each stream writes what it holds as one
/// body part with one flush — no task wakes per event.
///
/// The stream's route puts it in the pipeline, just before Hummingbird's connection handler, once the response head
/// went out; it writes body parts through the HTTP codec (which frames them for the client's HTTP version) and
/// completes ``ended`` when the outbox closed (after writing the `close` event) or finished, or the client left.
/// Hummingbird then ends the response.
final class EventStreamWriter: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias OutboundOut = HTTPResponsePart

    /// Bytes of events written at once.
    static let writeBytes = 64 * 1024

    private let connection: Connection
    private let drainQueue: DrainQueue
    /// Each room of the stream by the tag its frames carry.
    private let roomsByTag: [Int: String]
    private var cursor: StreamCursor
    /// Completed once the stream is over.
    let ended: EventLoopPromise<Void>
    private var context: ChannelHandlerContext?
    private var relay: Relay?
    private var writable = true
    private var isEnded = false

    init(connection: Connection, start: StreamCursor, drainQueue: DrainQueue, eventLoop: any EventLoop) {
        self.connection = connection
        self.drainQueue = drainQueue
        cursor = start
        roomsByTag = Dictionary(start.positions.map { (OutboundFrame.tag(of: $0.room), $0.room) }, uniquingKeysWith: { first, _ in first })
        ended = eventLoop.makePromise()
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        writable = context.channel.isWritable
        relay = Relay(NIOLoopBound(self, eventLoop: context.eventLoop), drainQueue: drainQueue)
        // A client that left before the writer was in place sends no channelInactive through it.
        guard context.channel.isActive else { return end() }
        drain()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        end()
        self.context = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        end()
        context.fireChannelInactive()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        writable = context.channel.isWritable
        if writable { drain() }
        context.fireChannelWritabilityChanged()
    }

    /// Takes and writes what the outbox holds while the socket is writable: what the socket cannot take yet stays in
    /// the outbox, whose bound closes a client that stopped reading (4008).
    fileprivate func drain() {
        guard let context, let relay, !isEnded else { return }
        var wrote = false
        while writable, let batch = connection.outbox.take(orNotify: relay, maxBytes: Self.writeBytes) {
            switch batch {
            case .frames(let frames):
                if connection.outbox.hasOverflowed { continue }
                var bytes = context.channel.allocator.buffer(capacity: frames.reduce(0) { $0 + $1.bytes.readableBytes + 64 })
                for frame in frames {
                    if frame.offset > 0, let room = roomsByTag[frame.room] {
                        cursor.advance(room, to: frame.offset)
                        writeID(into: &bytes)
                    }
                    bytes.writeImmutableBuffer(frame.bytes)
                }
                context.write(wrapOutboundOut(.body(bytes)), promise: nil)
                wrote = true
            case .close(let code, let reason):
                context.writeAndFlush(wrapOutboundOut(.body(Self.closeEvent(code, reason: reason))), promise: nil)
                return end()
            case .finished:
                if wrote { context.flush() }
                return end()
            }
        }
        if wrote { context.flush() }
    }

    /// The `id:` line of the cursor (as ``StreamCursor/description`` has it), written straight into `bytes`: it
    /// is written for every event of every stream.
    private func writeID(into bytes: inout ByteBuffer) {
        bytes.writeStaticString("id: ")
        for (index, position) in cursor.positions.enumerated() {
            if index > 0 { bytes.writeStaticString(",") }
            bytes.writeString(position.room)
            bytes.writeStaticString(":")
            bytes.writeString(String(position.offset))
        }
        bytes.writeStaticString("\n")
    }

    private func end() {
        guard !isEnded else { return }
        isEnded = true
        relay = nil
        ended.succeed()
    }

    /// The last event of a stream the server ends: the close code and reason a WebSocket would have had.
    static func closeEvent(_ code: CloseCode, reason: String) -> ByteBuffer {
        ByteBuffer(string: "event: close\ndata: \(ParleyServer.jsonText(StreamClosed(code: code.rawValue, reason: reason)))\n\n")
    }

    private struct StreamClosed: Encodable {
        var code: UInt16
        var reason: String
    }

    /// How the outbox and the event loop's drain queue reach the writer.
    private final class Relay: OutboxDrainer {
        private let writer: NIOLoopBound<EventStreamWriter>
        private let drainQueue: DrainQueue

        init(_ writer: NIOLoopBound<EventStreamWriter>, drainQueue: DrainQueue) {
            self.writer = writer
            self.drainQueue = drainQueue
        }

        func outboxHasWork() {
            drainQueue.schedule(self)
        }

        func drain() {
            writer.value.drain()
        }
    }
}

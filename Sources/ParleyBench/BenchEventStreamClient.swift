import NIOCore
import NIOHTTP1
import ParleyProtocol

/// A client that follows its room over Server-Sent Events (`GET /api/v1/events`, as a guest) instead of a WebSocket:
/// what `--sse` makes of every client that does not send. Like ``BenchClient`` it lives on its event loop with no
/// task of its own, and checks and times every delivery.
final class BenchEventStreamClient: ChannelInboundHandler, BenchParticipant {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    private let index: Int
    private let run: BenchRunContext
    private let endpoint: BenchEndpoint
    private let room: String
    private var subscription: RoomSubscription
    private var context: ChannelHandlerContext?
    /// Body bytes not yet split into events.
    private var unread = ByteBuffer()

    init(index: Int, run: BenchRunContext, endpoint: BenchEndpoint, connectStarted: Duration) {
        self.index = index
        self.run = run
        self.endpoint = endpoint
        room = run.room(of: index)
        subscription = RoomSubscription(connectStarted: connectStarted)
    }

    func channelActive(context: ChannelHandlerContext) {
        self.context = context
        let headers = HTTPHeaders([("Host", endpoint.hostHeader), ("Accept", "text/event-stream")])
        let head = HTTPRequestHead(version: .http1_1, method: .GET, uri: "/api/v1/events?rooms=\(room)&guest=bench-\(index)", headers: headers)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        run.register(NIOLoopBound<any BenchParticipant>(self, eventLoop: context.eventLoop), channel: context.channel)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            guard head.status == .ok else {
                run.recorder.count { $0.errors += 1 }
                return context.close(promise: nil)
            }
        case .body(var bytes):
            unread.writeBuffer(&bytes)
            takeEvents()
        case .end:
            context.close(promise: nil)
        }
    }

    /// Splits the complete events off the unread bytes and takes the `data:` of each.
    private func takeEvents() {
        while let length = Self.eventLength(in: unread), var event = unread.readSlice(length: length) {
            guard let data = Self.dataField(of: &event) else { continue }
            switch subscription.receive(data, run: run) {
            case .error: run.recorder.count { $0.errors += 1 }
            default: continue
            }
        }
        unread.discardReadBytes()
    }

    /// The length of the first event (up to and with the blank line that ends it), if it is all there.
    private static func eventLength(in buffer: ByteBuffer) -> Int? {
        let bytes = buffer.readableBytesView
        var previous: UInt8 = 0
        for (offset, byte) in bytes.enumerated() {
            if byte == UInt8(ascii: "\n"), previous == UInt8(ascii: "\n") { return offset + 1 }
            previous = byte
        }
        return nil
    }

    /// The value of an event's `data:` line (Parley writes each event's JSON on one line).
    private static func dataField(of event: inout ByteBuffer) -> ByteBuffer? {
        while let line = event.readLine() {
            if line.readableBytesView.starts(with: "data: ".utf8) {
                return line.getSlice(at: line.readerIndex + 6, length: line.readableBytes - 6)
            }
        }
        return nil
    }

    func start() {}

    func finish() {
        context?.close(promise: nil)
    }

    /// Adds what this client saw to the run's counts; a stream that ended before the run did is a disconnect.
    func channelInactive(context: ChannelHandlerContext) {
        run.recorder.tally(subscription.tracker, head: run.recorder.head(of: room))
        if !run.isFinished { run.recorder.count { $0.disconnects += 1 } }
        self.context = nil
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

extension ByteBuffer {
    /// The next line without its `\n`, moving past it; `nil` when no whole line is left.
    fileprivate mutating func readLine() -> ByteBuffer? {
        guard let end = readableBytesView.firstIndex(of: UInt8(ascii: "\n")) else { return nil }
        let line = getSlice(at: readerIndex, length: end - readerIndex)
        moveReaderIndex(to: end + 1)
        return line
    }
}

import NIOCore
import NIOWebSocket
import ParleyCore

/// Where a connection's outgoing frames enter its pipeline: between the socket and the framework's WebSocket frame
/// encoder, because they are complete frames already (``Frame``). A message fanned out to a room is one buffer
/// that every member's connection writes as it is — no per-receiver framing, and no trip through the handlers
/// above.
final class WireWriter: ChannelOutboundHandler, RemovableChannelHandler, Sendable {
    /// What passes through from the encoder above (control frames the framework writes), forwarded as is.
    typealias OutboundIn = ByteBuffer

    private let context: NIOLoopBoundBox<ChannelHandlerContext?>

    private init(eventLoop: any EventLoop) {
        context = .makeEmptyBox(valueType: ChannelHandlerContext.self, eventLoop: eventLoop)
    }

    /// Adds a writer to an upgraded WebSocket channel, below its frame encoder.
    static func install(on channel: any Channel) async throws -> WireWriter {
        let writer = WireWriter(eventLoop: channel.eventLoop)
        try await channel.eventLoop.submit {
            let pipeline = channel.pipeline.syncOperations
            let encoder = try pipeline.handler(type: WebSocketFrameEncoder.self)
            try pipeline.addHandler(writer, position: .before(encoder))
        }.get()
        return writer
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context.value = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context.value = nil
    }

    /// Writes frames in order with one flush, on the channel's event loop, skipping the rest once `stop` says so.
    /// - Returns: A future that completes when the last frame written has reached the socket.
    func write(_ frames: [ByteBuffer], stopping stop: @escaping @Sendable () -> Bool) -> EventLoopFuture<Void> {
        let eventLoop = context.eventLoop
        let done = eventLoop.makePromise(of: Void.self)
        eventLoop.execute {
            guard let context = self.context.value else {
                done.fail(ChannelError.ioOnClosedChannel)
                return
            }
            var count = 0
            for frame in frames {
                if stop() { break }
                count += 1
                context.write(NIOAny(frame), promise: count == frames.count ? done : nil)
            }
            if count < frames.count { done.succeed() }
            context.flush()
        }
        return done.futureResult
    }
}

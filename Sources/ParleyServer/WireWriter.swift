import NIOCore
import NIOWebSocket
import ParleyCore
import ParleyProtocol

/// A connection's writer: drains its ``Outbox`` on the channel's event loop, between the socket and the framework's
/// WebSocket frame encoder, because the outbox holds complete frames already (``Frame``). A message fanned out to a
/// room is one buffer that every member's connection writes as it is — no per-receiver framing, no trip through
/// the handlers above, and no task per connection or task switch per delivery: fan-out pushes to the outbox, the
/// outbox notifies the writer when it was idle, and the writer takes everything queued, writes it and flushes once.
///
/// While the socket is not writable (NIO's high-water mark of pending bytes) the writer takes nothing, so frames
/// gather in the outbox, whose bounds end a client that stopped reading with 4008.
final class WireWriter: ChannelDuplexHandler, RemovableChannelHandler, OutboxReader, Sendable {
    /// What passes through from the decoder below, forwarded as is.
    typealias InboundIn = WebSocketFrame
    /// What passes through from the encoder above (control frames the framework writes), forwarded as is.
    typealias OutboundIn = ByteBuffer

    private struct LoopState {
        var context: ChannelHandlerContext?
        /// Set once the outbox said close or finished: nothing more is taken.
        var stopped = false
        /// The channel's writability, kept from its change events instead of asking the channel per batch.
        var writable = true
    }

    private let outbox: Outbox
    private let eventLoop: any EventLoop
    private let onClose: @Sendable (CloseCode, String) -> Void
    private let allocator = ByteBufferAllocator()
    private let state: NIOLoopBoundBox<LoopState>

    private init(outbox: Outbox, eventLoop: any EventLoop, onClose: @escaping @Sendable (CloseCode, String) -> Void) {
        self.outbox = outbox
        self.eventLoop = eventLoop
        self.onClose = onClose
        state = .makeBoxSendingValue(LoopState(), eventLoop: eventLoop)
    }

    /// Adds a writer for `outbox` to an upgraded WebSocket channel, below its frame encoder, and starts draining.
    /// - Parameter onClose: Called on the event loop once the outbox asks for a close, after the frames before it
    ///   were written: send the close frame through the framework so it knows the close handshake has begun.
    static func install(
        on channel: any Channel,
        outbox: Outbox,
        onClose: @escaping @Sendable (CloseCode, String) -> Void
    ) async throws -> WireWriter {
        let writer = WireWriter(outbox: outbox, eventLoop: channel.eventLoop, onClose: onClose)
        try await channel.eventLoop.submit {
            let pipeline = channel.pipeline.syncOperations
            let encoder = try pipeline.handler(type: WebSocketFrameEncoder.self)
            try pipeline.addHandler(writer, position: .before(encoder))
        }.get()
        return writer
    }

    func handlerAdded(context: ChannelHandlerContext) {
        state.value.context = context
        state.value.writable = context.channel.isWritable
        drain()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        state.value.context = nil
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        state.value.writable = context.channel.isWritable
        if state.value.writable { drain() }
        context.fireChannelWritabilityChanged()
    }

    func outboxHasWork() {
        if eventLoop.inEventLoop {
            drain()
            return
        }
        eventLoop.execute { self.drain() }
    }

    /// Writes a control frame (a ping) at once, closing the connection if it cannot be written. On the event loop.
    func writeControlFrame(_ frame: ByteBuffer) {
        guard let context = state.value.context else { return }
        let channel = context.channel
        context.writeAndFlush(NIOAny(frame)).whenFailure { _ in channel.close(promise: nil) }
    }

    /// Batches up to this many bytes are copied into one buffer and written at once: cheaper than one pending write
    /// per small frame.
    static let coalescedBytes = 64 * 1024

    /// Takes and writes everything the outbox holds while the socket is writable, with one flush. After an
    /// overflow the frames in hand are abandoned, so the 4008 close goes out as soon as the socket takes it.
    private func drain() {
        guard let context = state.value.context, !state.value.stopped else { return }
        var wrote = false
        taking: while state.value.writable, let batch = outbox.take(orNotify: self) {
            switch batch {
            case .frames(let frames):
                if outbox.hasOverflowed { continue }
                write(frames, to: context)
                wrote = true
            case .close(let code, let reason):
                state.value.stopped = true
                if wrote { context.flush() }
                onClose(code, reason)
                return
            case .finished:
                state.value.stopped = true
                break taking
            }
        }
        if wrote { context.flush() }
    }

    private func write(_ frames: [ByteBuffer], to context: ChannelHandlerContext) {
        if frames.count == 1 {
            context.write(NIOAny(frames[0]), promise: nil)
            return
        }
        let total = frames.reduce(0) { $0 + $1.readableBytes }
        guard total <= Self.coalescedBytes else {
            for frame in frames { context.write(NIOAny(frame), promise: nil) }
            return
        }
        var combined = allocator.buffer(capacity: total)
        for frame in frames { combined.writeImmutableBuffer(frame) }
        context.write(NIOAny(combined), promise: nil)
    }
}

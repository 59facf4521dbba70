import CoreMetrics
import NIOCore
import NIOWebSocket
import ParleyCore
import Synchronization

/// Sits right after the WebSocket frame decoder and looks at every frame before the framework does: it closes the
/// connection with 1002 when a client frame is not masked (RFC 6455 §5.1), and notes each pong's sequence number
/// for the ``Heartbeat`` (the framework consumes pongs itself).
final class FrameInspector: ChannelInboundHandler, RemovableChannelHandler, Sendable {
    typealias InboundIn = WebSocketFrame
    typealias InboundOut = WebSocketFrame

    private let lastPongSequence = Atomic<UInt64>(0)
    private let metrics: ParleyMetrics

    private init(metrics: ParleyMetrics) {
        self.metrics = metrics
    }

    /// Adds an inspector to an upgraded WebSocket channel.
    static func install(on channel: any Channel, metrics: ParleyMetrics) async throws -> FrameInspector {
        let inspector = FrameInspector(metrics: metrics)
        try await channel.eventLoop.submit {
            let pipeline = channel.pipeline.syncOperations
            let decoder = try pipeline.handler(type: ByteToMessageHandler<WebSocketFrameDecoder>.self)
            try pipeline.addHandler(inspector, position: .after(decoder))
        }.get()
        return inspector
    }

    /// The sequence number of the newest pong seen.
    var lastPong: UInt64 { lastPongSequence.load(ordering: .relaxed) }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        guard frame.maskKey != nil else {
            metrics.protocolViolations.increment()
            var reason = context.channel.allocator.buffer(capacity: 32)
            reason.write(webSocketErrorCode: .protocolError)
            reason.writeString("client frames must be masked")
            context.writeAndFlush(NIOAny(WebSocketFrame(fin: true, opcode: .connectionClose, data: reason)), promise: nil)
            context.close(promise: nil)
            return
        }
        if frame.opcode == .pong, let sequence = frame.unmaskedData.getInteger(at: frame.unmaskedData.readerIndex, as: UInt64.self) {
            lastPongSequence.store(max(lastPongSequence.load(ordering: .relaxed), sequence), ordering: .relaxed)
        }
        context.fireChannelRead(data)
    }
}

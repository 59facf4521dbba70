import NIOCore
import NIOWebSocket
import Synchronization

/// Pings a WebSocket every `interval` and drops the connection when a pong has not come back within `timeout`, so a
/// client that vanished without closing leaves its rooms (and everyone's presence) within interval + timeout.
///
/// Pongs are consumed inside the WebSocket framework, so a small handler placed right after the frame decoder
/// notes when each one arrives.
struct Heartbeat: Sendable {
    let interval: Duration
    let timeout: Duration

    /// Runs until the task is cancelled or the connection is dropped.
    func run(on channel: any Channel, sendPing: @Sendable (ByteBuffer) async throws -> Void) async {
        let observer = PongObserver()
        do {
            try await channel.eventLoop.submit {
                let pipeline = channel.pipeline.syncOperations
                let decoder = try pipeline.handler(type: ByteToMessageHandler<WebSocketFrameDecoder>.self)
                try pipeline.addHandler(observer, position: .after(decoder))
            }.get()
        } catch {
            return
        }
        var sequence: UInt64 = 0
        while !Task.isCancelled, channel.isActive {
            do {
                try await Task.sleep(for: interval)
                sequence += 1
                var payload = ByteBuffer()
                payload.writeInteger(sequence)
                try await sendPing(payload)
            } catch {
                return
            }
            let deadline = ContinuousClock.now + timeout
            while observer.lastPong < sequence, ContinuousClock.now < deadline, !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(50))
            }
            if observer.lastPong < sequence, !Task.isCancelled {
                channel.close(promise: nil)
                return
            }
        }
    }
}

/// Notes the sequence number carried by each pong, passing every frame on unchanged.
final class PongObserver: ChannelInboundHandler, RemovableChannelHandler, Sendable {
    typealias InboundIn = WebSocketFrame
    typealias InboundOut = WebSocketFrame

    private let last = Atomic<UInt64>(0)

    var lastPong: UInt64 { last.load(ordering: .relaxed) }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        if frame.opcode == .pong, let sequence = frame.unmaskedData.getInteger(at: frame.unmaskedData.readerIndex, as: UInt64.self) {
            last.store(max(last.load(ordering: .relaxed), sequence), ordering: .relaxed)
        }
        context.fireChannelRead(data)
    }
}

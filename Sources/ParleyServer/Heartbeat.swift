import NIOCore
import ParleyCore

/// Pings a WebSocket every `interval` and drops the connection when a pong has not come back within `timeout`, so a
/// client that vanished without closing leaves its rooms (and everyone's presence) within interval + timeout.
///
/// It runs as timers on the connection's event loop rather than as a task per connection: an idle connection costs
/// no suspended task for its heartbeat.
struct Heartbeat: Sendable {
    let interval: Duration
    let timeout: Duration

    /// Starts pinging `channel`; cancel the returned task when the connection ends.
    /// - Parameters:
    ///   - channel: The connection.
    ///   - wire: Where the ping frames are written.
    ///   - inspector: Where pongs are noted.
    func start(on channel: any Channel, wire: WireWriter, inspector: FrameInspector) -> RepeatedTask {
        let sequence = NIOLoopBoundBox.makeBoxSendingValue(UInt64(0), eventLoop: channel.eventLoop)
        let timeout = TimeAmount.nanoseconds(self.timeout.nanoseconds)
        let interval = TimeAmount.nanoseconds(self.interval.nanoseconds)
        return channel.eventLoop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { _ in
            sequence.value += 1
            let sent = sequence.value
            wire.writeControlFrame(Self.ping(sent))
            channel.eventLoop.scheduleTask(in: timeout) {
                if inspector.lastPong < sent { channel.close(promise: nil) }
            }
        }
    }

    /// A ping frame (RFC 6455 §5.5.2) carrying a sequence number, which the pong echoes.
    static func ping(_ sequence: UInt64) -> ByteBuffer {
        var frame = ByteBuffer()
        frame.writeInteger(UInt8(0x89))
        frame.writeInteger(UInt8(8))
        frame.writeInteger(sequence)
        return frame
    }
}

import NIOCore

/// Pings a WebSocket every `interval` and drops the connection when a pong has not come back within `timeout`, so a
/// client that vanished without closing leaves its rooms (and everyone's presence) within interval + timeout.
struct Heartbeat: Sendable {
    let interval: Duration
    let timeout: Duration

    /// Runs until the task is cancelled or the connection is dropped.
    /// - Parameters:
    ///   - channel: The connection.
    ///   - inspector: Where pongs are noted.
    ///   - sendPing: Writes a ping frame carrying the payload.
    func run(on channel: any Channel, inspector: FrameInspector, sendPing: @Sendable (ByteBuffer) async throws -> Void) async {
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
            while inspector.lastPong < sequence, ContinuousClock.now < deadline, !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(50))
            }
            if inspector.lastPong < sequence, !Task.isCancelled {
                channel.close(promise: nil)
                return
            }
        }
    }
}

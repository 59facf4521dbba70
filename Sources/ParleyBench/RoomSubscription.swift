import NIOCore
import ParleyProtocol

/// One client's view of its room, whatever carries it (a WebSocket or an event stream): each message checked for
/// loss, repeats and order, and timed from when it was due to be sent.
struct RoomSubscription {
    /// The offsets received.
    private(set) var tracker = OffsetTracker()
    private var joined = false
    /// The room's head when the client joined: what it receives up to there is replay (a late joiner's history),
    /// not a delivery, and does not count for latency.
    private var replayedThrough: Int64 = 0
    /// When the client started connecting.
    let connectStarted: Duration

    init(connectStarted: Duration) {
        self.connectStarted = connectStarted
    }

    /// Counts the client as joined (once), with the time it took.
    mutating func markJoined(run: BenchRunContext) {
        guard !joined else { return }
        joined = true
        run.recorder.joined(connectMicroseconds: (run.clock.now() - connectStarted).microseconds)
    }

    /// Takes one parley.v1 event of the room; returns any other event (an ack, an error) for the client to handle.
    mutating func receive(_ text: ByteBuffer, run: BenchRunContext) -> ServerEvent? {
        let receivedAt = run.clock.now()
        if let delivery = BenchMessage.parseDelivery(text) {
            tracker.receive(delivery.offset)
            if delivery.offset > replayedThrough { run.recordLatency(sentAt: .nanoseconds(delivery.scheduledNanos), receivedAt: receivedAt) }
            return nil
        }
        if let head = BenchMessage.parseJoinedHead(text) {
            replayedThrough = head
            markJoined(run: run)
            return nil
        }
        if BenchMessage.isAnnouncement(text) {
            if run.window.contains(receivedAt) { run.recorder.count { $0.announcements += 1 } }
            return nil
        }
        guard let event = try? ServerEvent.decode(String(buffer: text)) else { return nil }
        switch event {
        case .joined(_, _, let head, _, _, _):
            replayedThrough = head
            markJoined(run: run)
            return nil
        case .message(let chat):
            tracker.receive(chat.offset)
            if chat.offset > replayedThrough, let sentAt = BenchMessage.scheduledTime(in: chat.text) {
                run.recordLatency(sentAt: sentAt, receivedAt: receivedAt)
            }
            return nil
        default:
            return event
        }
    }
}

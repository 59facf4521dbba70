import NIOCore
import NIOWebSocket
import ParleyProtocol

/// One client of a run: a WebSocket connection handled entirely on its event loop, with no task per connection, so
/// the bench spends little per delivery and its own delays do not show up as the server's latency.
///
/// Once upgraded it introduces itself (parley.v1: `hello`, then `join`); when the run starts, a sender sends on
/// schedule (open loop) or its next message as soon as the previous one is acknowledged, or for a plain server came
/// back (closed loop); when the run finishes it closes with 1000. Every delivery is checked for loss, repeats and
/// order and its latency recorded.
final class BenchClient: ChannelInboundHandler, BenchParticipant {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = WebSocketFrame

    private let index: Int
    private let run: BenchRunContext
    private let connectStarted: Duration
    private let room: String
    private var context: ChannelHandlerContext?
    /// parley.v1: the client's room, as it receives it.
    private var subscription: RoomSubscription
    private var sending = false
    private var finished = false
    private var closeSent = false
    private var sequence = 0
    /// Open loop: when the next message is due, and the time between one sender's messages.
    private var nextSendAt = Duration.zero
    private var sendInterval = Duration.zero
    private var nextSend: Scheduled<Void>?
    /// Plain dialect: each sender's sequence numbers.
    private var trackersBySender: [Int: OffsetTracker] = [:]
    private var frames = WebSocketFrameReader(maxFrameSize: 1 << 20, maxMessageSize: 1 << 24)

    init(index: Int, run: BenchRunContext, connectStarted: Duration) {
        self.index = index
        self.run = run
        self.connectStarted = connectStarted
        room = run.room(of: index)
        subscription = RoomSubscription(connectStarted: connectStarted)
    }

    private var configuration: BenchConfiguration { run.configuration }
    private var isSender: Bool { index < configuration.senders }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        // The HTTP upgrade handler, still in the pipeline while this one is added, refuses writes; it has left by
        // the next turn of the event loop.
        let client = NIOLoopBound(self, eventLoop: context.eventLoop)
        context.eventLoop.execute { client.value.introduce() }
    }

    private func introduce() {
        guard let context else { return }
        switch configuration.dialect {
        case .parley:
            writeText(ClientFrame(command: .hello(name: "bench-\(index)", token: nil)).jsonText())
            writeText(ClientFrame(command: .join(room: room, since: nil)).jsonText())
        case .plain:
            subscription.markJoined(run: run)
        }
        run.register(NIOLoopBound<any BenchParticipant>(self, eventLoop: context.eventLoop), channel: context.channel)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    // MARK: Receiving

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        do {
            try frames.read(unwrapInboundIn(data)) { receive($0, context: context) }
        } catch {
            context.close(promise: nil)
        }
    }

    private func receive(_ message: WebSocketFrameReader.Message, context: ChannelHandlerContext) {
        switch message {
        case .text(let text):
            switch configuration.dialect {
            case .parley: receiveEvent(text)
            case .plain: receivePlain(text)
            }
        case .ping(let payload):
            write(WebSocketFrame(fin: true, opcode: .pong, maskKey: .random(), data: payload))
        case .close(var payload):
            guard !closeSent else {
                context.close(promise: nil)
                return
            }
            closeSent = true
            let code = payload.readInteger(as: UInt16.self) ?? 1000
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(Self.closeFrame(code: code))).whenComplete { _ in
                channel.close(promise: nil)
            }
        case .binary, .pong:
            return
        }
    }

    private func receiveEvent(_ text: ByteBuffer) {
        switch subscription.receive(text, run: run) {
        case .ack(_, let ackRoom, let id, let offset, _):
            let sentAt = BenchMessage.scheduledTime(in: id)
            run.recorder.acknowledged(room: ackRoom, offset: offset, inWindow: sentAt.map(run.window.contains) ?? false)
            if configuration.rate == 0 { sendNow() }
        case .error:
            run.recorder.count { $0.errors += 1 }
        default:
            return
        }
    }

    private func receivePlain(_ text: ByteBuffer) {
        let receivedAt = run.clock.now()
        guard let delivery = BenchMessage.parsePlain(text) else { return }
        trackersBySender[delivery.sender, default: OffsetTracker()].receive(delivery.sequence + 1)
        run.recordLatency(sentAt: .nanoseconds(delivery.scheduledNanos), receivedAt: receivedAt)
        if delivery.sender == index, configuration.rate == 0 { sendNow() }
    }

    // MARK: Sending

    /// The run's senders start: on schedule (open loop) or at once (closed loop).
    func start() {
        guard isSender, !sending, !finished else { return }
        sending = true
        guard configuration.rate > 0 else { return sendNow() }
        sendInterval = .seconds(Double(configuration.senders) / configuration.rate)
        nextSendAt = run.clock.now() + sendInterval * (Double(index) / Double(configuration.senders))
        scheduleNextSend()
    }

    /// Open loop: each message is stamped with the time it was due, even if the bench itself sends it late.
    private func scheduleNextSend() {
        guard let context, !finished, nextSendAt <= run.window.end else { return }
        let client = NIOLoopBound(self, eventLoop: context.eventLoop)
        nextSend = context.eventLoop.scheduleTask(deadline: run.clock.deadline(at: nextSendAt)) {
            let client = client.value
            client.send(scheduledAt: client.nextSendAt)
            client.nextSendAt += client.sendInterval
            client.scheduleNextSend()
        }
    }

    /// Closed loop: the next message, while the measured window lasts.
    private func sendNow() {
        let now = run.clock.now()
        guard sending, !finished, now <= run.window.end else { return }
        send(scheduledAt: now)
    }

    private func send(scheduledAt: Duration) {
        let text: String
        switch configuration.dialect {
        case .parley:
            text = BenchMessage.command(room: room, sender: index, sequence: sequence, scheduledAt: scheduledAt, padding: run.padding)
        case .plain:
            run.recorder.sentPlain(sender: index, sequence: sequence, inWindow: run.window.contains(scheduledAt))
            text = BenchMessage.plainText(sender: index, sequence: sequence, scheduledAt: scheduledAt, padding: run.padding)
        }
        sequence += 1
        writeText(text)
    }

    private func writeText(_ text: String) {
        guard let context else { return }
        write(WebSocketFrame(fin: true, opcode: .text, maskKey: .random(), data: context.channel.allocator.buffer(string: text)))
    }

    private func write(_ frame: WebSocketFrame) {
        guard let context, !closeSent else { return }
        context.writeAndFlush(wrapOutboundOut(frame), promise: nil)
    }

    // MARK: Finishing

    /// The run is over: stop sending and close with 1000 (the server answers, then the connection ends).
    func finish() {
        finished = true
        nextSend?.cancel()
        guard let context, !closeSent else { return }
        closeSent = true
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(Self.closeFrame(code: 1000))).whenFailure { _ in
            channel.close(promise: nil)
        }
    }

    /// Adds what this client saw to the run's counts; a connection that ended before the run did is a disconnect.
    func channelInactive(context: ChannelHandlerContext) {
        nextSend?.cancel()
        switch configuration.dialect {
        case .parley:
            run.recorder.tally(subscription.tracker, head: run.recorder.head(of: room))
        case .plain:
            for (sender, sent) in run.recorder.sentBySender {
                run.recorder.tally(trackersBySender[sender] ?? OffsetTracker(), head: sent)
            }
        }
        if !run.isFinished { run.recorder.count { $0.disconnects += 1 } }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    private static func closeFrame(code: UInt16) -> WebSocketFrame {
        var payload = ByteBuffer()
        payload.writeInteger(code)
        return WebSocketFrame(fin: true, opcode: .connectionClose, maskKey: .random(), data: payload)
    }
}

import CoreMetrics
import NIOCore
import NIOWebSocket
import ParleyCore
import ParleyProtocol

/// The server side of one upgraded WebSocket connection: the only handler in the connection's pipeline, on its event
/// loop, and no task while the connection is idle.
///
/// Reading, it parses client frames (``WebSocketWire``) and enforces RFC 6455 (masked client frames, no reserved bits
/// or opcodes, fragments in order, text in UTF-8, messages within the limit), answers pings, notes pongs for the
/// heartbeat and passes messages to the session through a ``SessionInbox``, pausing the socket while the session is
/// behind. Writing, it drains the connection's ``Outbox`` whenever the outbox has something and the socket is
/// writable: the outbox holds complete frames (``Frame``), so a message fanned out to a room is one buffer every
/// member's connection writes as it is, with one flush per batch and no per-receiver framing or task switch.
///
/// Closing follows the handshake: a close the server starts (the outbox's, on overflow or shutdown) waits for the
/// client's answer, and the connection is dropped if the close frame is not written within
/// ``ChatEndpoint/closeFlushTimeout`` or not answered within as long again; a protocol violation is answered with its
/// close code and the connection is closed at once.
final class WebSocketConnection: ChannelDuplexHandler, RemovableChannelHandler, Heartbeat.Pingable {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// What every connection shares: one instance per server, referred to rather than copied into each handler.
    final class Settings: Sendable {
        let sessionEnvironment: Session.Environment
        let heartbeat: Heartbeat
        let drainQueues = PerEventLoop { DrainQueue(eventLoop: $0) }

        init(
            hub: Hub, store: any MessageStore, limits: Limits, userLimits: AllowanceLimits, identity: any IdentityProvider,
            signedIn: SignedInConnections, heartbeat: Heartbeat
        ) {
            sessionEnvironment = Session.Environment(
                hub: hub, store: store, limits: limits, identity: identity, signedIn: signedIn, userLimits: userLimits
            )
            self.heartbeat = heartbeat
        }

        var hub: Hub { sessionEnvironment.hub }
        var limits: Limits { sessionEnvironment.limits }

        /// Sends a client may have waiting to be stored before its connection stops reading: their answers (an
        /// `ack`, and the message itself for a member of the room) must fit in its outbox.
        var maxUnstoredSends: Int { max(1, limits.outboxFrames / 4) }
    }

    private let connection: Connection
    /// Created once the handler is in the pipeline (it tells the handler when sends are stored).
    private var session: Session?
    private let settings: Settings
    /// The client's address, whose allowance the session shares with the address's other connections.
    private let client: Allowance
    /// What the client authenticated with at the upgrade, handed to its session.
    private let credential: Credential?

    private var context: ChannelHandlerContext?
    private var frames: WebSocketWire.FrameReader
    /// A protocol violation was answered: nothing more is read.
    private var failed = false
    private var inbox: SessionInbox?
    /// How other threads reach this handler; registered with the outbox when a drain found it empty.
    private var relay: LoopRelay?
    private var writable = true
    /// The outbox said close or finished: nothing more is taken from it.
    private var writerStopped = false
    /// A close frame has been queued for the client; what it sends now is ignored until its close.
    private var closeSent = false
    private var closeFlushed = false
    /// The opcode and data of a fragmented message being reassembled.
    private var fragments: (opcode: WebSocketOpcode, data: ByteBuffer)?
    /// A read held back while the session is behind.
    private var readPending = false
    private var lastPingSequence: UInt64 = 0
    private var lastPongSequence: UInt64 = 0
    private var pinger: Heartbeat.Pinger?
    private var closeDeadline: Scheduled<Void>?

    init(connection: Connection, settings: Settings, client: Allowance, credential: Credential?) {
        self.connection = connection
        self.settings = settings
        self.client = client
        self.credential = credential
        frames = WebSocketWire.FrameReader(maxPayload: settings.limits.maxFrameBytes)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        writable = context.channel.isWritable
        let eventLoop = context.eventLoop
        let relay = LoopRelay(
            NIOLoopBound(self, eventLoop: eventLoop), eventLoop: eventLoop, drainQueue: settings.drainQueues.value(on: eventLoop)
        )
        let session = Session(
            connection: connection, environment: settings.sessionEnvironment, client: client, credential: credential,
            onSendsStored: relay.resumeReading
        )
        self.session = session
        inbox = SessionInbox(session: session, resumeReading: relay.resumeReading)
        connection.outbox.whenClosing { closing in
            if closing { relay.closeRequested() }
        }
        self.relay = relay
        pinger = settings.heartbeat.pinger(on: eventLoop)
        pinger?.add(self)
        drain()
    }

    /// Lets go of what refers back to this handler (the inbox's and the outbox's callbacks), so nothing outlives
    /// the connection.
    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        relay = nil
        inbox = nil
        session = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        pinger?.remove(self)
        closeDeadline?.cancel()
        inbox?.submit(.end)
        context.fireChannelInactive()
    }

    // MARK: Reading

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !failed else { return }
        let withinLimit = frames.read(unwrapInboundIn(data)) { frame in
            receive(frame)
            return !failed
        }
        if !withinLimit { violation(.messageTooLarge, "frame over \(settings.limits.maxFrameBytes) bytes") }
    }

    private func receive(_ frame: WebSocketFrame) {
        guard frame.maskKey != nil else {
            return violation(.protocolError, "client frames must be masked")
        }
        guard !frame.rsv1, !frame.rsv2, !frame.rsv3 else {
            return violation(.protocolError, "reserved bits are set but no extension was negotiated")
        }
        if frame.opcode.isControlOpcode {
            guard frame.fin else { return violation(.protocolError, "control frames cannot be fragmented") }
            guard frame.length <= 125 else { return violation(.protocolError, "control frames carry at most 125 bytes") }
        }
        switch frame.opcode {
        case .text, .binary:
            guard fragments == nil else {
                return violation(.protocolError, "a new message began inside a fragmented one")
            }
            if frame.fin {
                receive(frame.opcode, frame.unmaskedData)
            } else {
                fragments = (frame.opcode, frame.unmaskedData)
            }
        case .continuation:
            guard var message = fragments else {
                return violation(.protocolError, "a continuation frame with no message to continue")
            }
            fragments = nil
            guard message.data.readableBytes + frame.length <= settings.limits.maxFrameBytes else {
                return violation(.messageTooLarge, "message over \(settings.limits.maxFrameBytes) bytes")
            }
            var more = frame.unmaskedData
            message.data.writeBuffer(&more)
            if frame.fin {
                receive(message.opcode, message.data)
            } else {
                fragments = message
            }
        case .ping:
            // A ping counts as a command for the rate limit (one over it is not answered), and its pong goes through
            // the outbox like every other frame: bounded by it, and pausing reads when it is over half full.
            if !closeSent, session?.allowsControlFrame() ?? false { connection.outbox.push(Frame.pong(echoing: frame.unmaskedData)) }
        case .pong:
            // Only the echo of the outstanding ping counts: an unsolicited pong proves nothing about the client.
            let payload = frame.unmaskedData
            if payload.readableBytes == 8, let pinger,
                payload.getInteger(at: payload.readerIndex, as: UInt64.self) == pinger.payload(of: lastPingSequence)
            {
                lastPongSequence = lastPingSequence
            }
        case .connectionClose:
            receiveClose(frame.unmaskedData)
        default:
            violation(.protocolError, "opcode \(frame.opcode) is reserved")
        }
    }

    private func receive(_ opcode: WebSocketOpcode, _ data: ByteBuffer) {
        guard !closeSent, let inbox else { return }
        let item: SessionInbox.Item
        if opcode == .text {
            guard let text = String(validating: data.readableBytesView, as: UTF8.self) else {
                return violation(.dataInconsistentWithMessage, "text frames must be UTF-8")
            }
            item = .text(text)
        } else {
            item = .binary
        }
        inbox.submit(item)
    }

    /// The client's close: the answer to ours, or its own, which is echoed before the connection closes.
    private func receiveClose(_ payload: ByteBuffer) {
        guard let context else { return }
        if closeSent {
            context.close(promise: nil)
            return
        }
        var payload = payload
        guard payload.readableBytes != 1 else { return violation(.protocolError, "a close frame cannot carry one byte") }
        let code = payload.readInteger(as: UInt16.self)
        if let code, !Self.isValidCloseCode(code) {
            return violation(.protocolError, "close code \(code) is not allowed")
        }
        guard String(validating: payload.readableBytesView, as: UTF8.self) != nil else {
            return violation(.dataInconsistentWithMessage, "a close reason must be UTF-8")
        }
        closeSent = true
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(Frame.close(code: code))).whenComplete { _ in
            channel.close(promise: nil)
        }
    }

    /// Codes a client may send (RFC 6455 §7.4): not 1004–1006, 1015 or unassigned ones.
    static func isValidCloseCode(_ code: UInt16) -> Bool {
        switch code {
        case 1000...1003, 1007...1014, 3000...4999: true
        default: false
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    /// Fails the connection: the close code and reason, then the end of the TCP connection.
    private func violation(_ code: WebSocketErrorCode, _ reason: String) {
        failed = true
        guard let context, !closeSent else { return }
        settings.hub.metrics.protocolViolations.increment()
        closeSent = true
        fragments = nil
        let frame = Frame.close(code: UInt16(webSocketErrorCode: code), reason: reason)
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(frame)).whenComplete { _ in
            channel.close(promise: nil)
        }
    }

    /// Holds reads back while the session has a backlog or the outbox is over half full (the client is not reading
    /// what it is sent as fast as it sends).
    func read(context: ChannelHandlerContext) {
        if mayRead {
            context.read()
        } else {
            readPending = true
        }
    }

    private var mayRead: Bool {
        !(inbox?.isReadingPaused ?? false) && !connection.outbox.isOverHalfFull
            && (session?.unstoredSendCount ?? 0) < settings.maxUnstoredSends
    }

    func resumeReading() {
        guard readPending, mayRead, let context else { return }
        readPending = false
        context.read()
    }

    // MARK: Writing

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        writable = context.channel.isWritable
        if writable { drain() }
        context.fireChannelWritabilityChanged()
    }

    /// Batches up to this many bytes are copied into one buffer and written at once: cheaper than one pending write
    /// per small frame.
    static let coalescedBytes = 64 * 1024

    /// Takes and writes everything the outbox holds while the socket is writable, with one flush. After an
    /// overflow the frames in hand are abandoned, so the 4008 close goes out as soon as the socket takes it.
    func drain() {
        guard let context, let relay, !writerStopped else { return }
        var wrote = false
        taking: while writable, let batch = connection.outbox.take(orNotify: relay) {
            switch batch {
            case .frames(let frames):
                if connection.outbox.hasOverflowed { continue }
                write(frames, to: context)
                wrote = true
            case .close(let code, let reason):
                writerStopped = true
                if wrote { context.flush() }
                startClose(code, reason: reason)
                return
            case .finished:
                writerStopped = true
                break taking
            }
        }
        if wrote {
            context.flush()
            resumeReading()
        }
    }

    private func write(_ frames: [ByteBuffer], to context: ChannelHandlerContext) {
        if frames.count == 1 {
            context.write(wrapOutboundOut(frames[0]), promise: nil)
            return
        }
        let total = frames.reduce(0) { $0 + $1.readableBytes }
        guard total <= Self.coalescedBytes else {
            for frame in frames { context.write(wrapOutboundOut(frame), promise: nil) }
            return
        }
        var combined = context.channel.allocator.buffer(capacity: total)
        for frame in frames { combined.writeImmutableBuffer(frame) }
        context.write(wrapOutboundOut(combined), promise: nil)
    }

    /// Writes a control frame at once, closing the connection if it cannot be written.
    private func writeControlFrame(_ frame: ByteBuffer) {
        guard let context else { return }
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(frame)).whenFailure { _ in channel.close(promise: nil) }
    }

    /// The server's close, after every frame queued before it: the client is expected to answer.
    private func startClose(_ code: CloseCode, reason: String) {
        guard let context, !closeSent else { return }
        closeSent = true
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        context.writeAndFlush(wrapOutboundOut(Frame.close(code: code.rawValue, reason: reason))).whenSuccess {
            handler.value.closeFlushed = true
        }
    }

    /// Once a close is asked for, gives the close frame ``ChatEndpoint/closeFlushTimeout`` to be written and the client
    /// as long again to answer it, and otherwise drops the connection: a client that stopped reading cannot hold it
    /// open.
    func startCloseDeadline() {
        guard let context, closeDeadline == nil else { return }
        if connection.outbox.hasOverflowed { settings.hub.metrics.slowConsumerCloses.increment() }
        let timeout = ChatEndpoint.closeFlushTimeout
        let eventLoop = context.eventLoop
        let handler = NIOLoopBound(self, eventLoop: eventLoop)
        closeDeadline = eventLoop.scheduleTask(in: timeout) {
            let connection = handler.value
            guard connection.closeFlushed else {
                connection.context?.close(promise: nil)
                return
            }
            connection.closeDeadline = eventLoop.scheduleTask(in: timeout) {
                handler.value.context?.close(promise: nil)
            }
        }
    }

    // MARK: Heartbeat

    func ping(_ sequence: UInt64, payload: UInt64) {
        lastPingSequence = sequence
        writeControlFrame(Frame.ping(payload))
    }

    func dropIfUnanswered(_ sequence: UInt64) {
        if lastPingSequence == sequence, lastPongSequence < sequence { context?.close(promise: nil) }
    }
}

import CoreMetrics
import Logging
import NIOCore
import NIOWebSocket
import ParleyCore
import ParleyProtocol

/// The server side of one upgraded WebSocket connection: the only handler in the connection's pipeline, on its event
/// loop, and no task while the connection is idle. A thin shell around ``ConnectionStateMachine``, which decides
/// everything RFC 6455 asks (what a frame means, when to close, when to drop); this handler performs what it says.
///
/// Reading, it hands whole messages to the session through a ``SessionInbox``, answers pings through the outbox
/// (within the rate limit), and holds reads back while the session is behind or the outbox is over half full.
/// Writing, it drains the connection's ``Outbox`` whenever the outbox has something and the socket is writable: the
/// outbox holds complete frames (``Frame``), so a message fanned out to a room is one buffer every member's
/// connection writes as it is, with one flush per batch and no per-receiver framing or task switch.
final class WebSocketConnection: ChannelDuplexHandler, RemovableChannelHandler, Heartbeat.Pingable {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// What every connection shares: one instance per server, referred to rather than copied into each handler.
    final class Settings: Sendable {
        let sessionEnvironment: Session.Environment
        let heartbeat: Heartbeat
        let drainQueues: PerEventLoop<DrainQueue>
        let sessionExecutors = PerEventLoop { EventLoopTaskExecutor(eventLoop: $0) }

        init(
            hub: Hub,
            store: any MessageStore,
            limits: Limits,
            userLimits: AllowanceLimits,
            identity: any IdentityProvider,
            signedIn: SignedInConnections,
            rooms: any RoomStore,
            node: String,
            heartbeat: Heartbeat,
            logger: Logger
        ) {
            sessionEnvironment = Session.Environment(
                hub: hub,
                store: store,
                limits: limits,
                identity: identity,
                signedIn: signedIn,
                userLimits: userLimits,
                rooms: rooms,
                node: node,
                logger: logger
            )
            self.heartbeat = heartbeat
            drainQueues = PerEventLoop { DrainQueue(eventLoop: $0, wakeUps: hub.wakeUps) }
        }

        var hub: Hub { sessionEnvironment.hub }
        var limits: Limits { sessionEnvironment.limits }
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
    private var machine: ConnectionStateMachine<EventLoopClock>
    private var inbox: SessionInbox?
    /// How other threads reach this handler; registered with the outbox when a drain found it empty.
    private var relay: LoopRelay?
    private var writable = true
    private var pinger: Heartbeat.Pinger?

    init(connection: Connection, settings: Settings, client: Allowance, credential: Credential?) {
        self.connection = connection
        self.settings = settings
        self.client = client
        self.credential = credential
        machine = ConnectionStateMachine(maxMessageBytes: settings.limits.maxFrameBytes)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        writable = context.channel.isWritable
        let eventLoop = context.eventLoop
        let relay = LoopRelay(
            NIOLoopBound(self, eventLoop: eventLoop),
            eventLoop: eventLoop,
            drainQueue: settings.drainQueues.value(on: eventLoop)
        )
        let session = Session(
            connection: connection,
            environment: settings.sessionEnvironment,
            client: client,
            credential: credential,
            onRoomForSends: relay.resumeReading
        )
        self.session = session
        inbox = SessionInbox(
            session: session,
            executor: settings.sessionExecutors.value(on: eventLoop),
            resumeReading: relay.resumeReading
        )
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
        inbox?.submit(.end)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    // MARK: Reading

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        machine.read(unwrapInboundIn(data)) { action in
            switch action {
            case .deliver(.text(let text)):
                inbox?.submit(.text(text))
            case .deliver(.binary):
                inbox?.submit(.binary)
            case .answerPing(let payload):
                // A ping counts as a command for the rate limit (one over it is not answered), and its pong goes
                // through the outbox like every other frame: bounded by it, and pausing reads when it is over half
                // full.
                if session?.allowsControlFrame() ?? false { connection.outbox.push(OutboundFrame(Frame.pong(echoing: payload))) }
            case .closeAfterWriting(let frame, let violation):
                if violation { settings.hub.metrics.protocolViolations.increment() }
                let channel = context.channel
                context.writeAndFlush(wrapOutboundOut(frame)).whenComplete { _ in channel.close(promise: nil) }
            case .closeConnection:
                context.close(promise: nil)
            }
        }
    }

    /// Holds reads back while the session has a backlog or the outbox is over half full (the client is not reading
    /// what it is sent as fast as it sends).
    func read(context: ChannelHandlerContext) {
        if machine.readRequested(hasRoom: hasRoomToRead) { context.read() }
    }

    private var hasRoomToRead: Bool {
        !(inbox?.isReadingPaused ?? false) && !connection.outbox.isOverHalfFull
            && (session.map { $0.unstoredSendCount < $0.maxUnstoredSends } ?? true)
    }

    /// Makes the read held back, if there is room for it now.
    func resumeReading() {
        guard let context, machine.roomFreed(hasRoom: hasRoomToRead) else { return }
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

    /// Takes and writes what the outbox holds while the socket is writable, at most ``coalescedBytes`` at a time, with
    /// one flush: what the socket cannot take yet stays in the outbox, where a removal from a room (which drops the
    /// room's frames) and the overflow bound still reach it. After an overflow the frames in hand are abandoned, so
    /// the 4008 close goes out as soon as the socket takes it.
    func drain() {
        guard let context, let relay, !machine.isWriterStopped else { return }
        var wrote = false
        taking: while writable, let batch = connection.outbox.take(orNotify: relay, maxBytes: Self.coalescedBytes) {
            switch batch {
            case .frames(let frames):
                if connection.outbox.hasOverflowed { continue }
                write(frames, to: context)
                wrote = true
            case .close(let code, let reason):
                if wrote { context.flush() }
                if let frame = machine.outboxClosing(code, reason: reason) { writeClose(frame, to: context) }
                return
            case .finished:
                machine.outboxFinished()
                break taking
            }
        }
        if wrote {
            context.flush()
            resumeReading()
        }
    }

    private func write(_ frames: [OutboundFrame], to context: ChannelHandlerContext) {
        if frames.count == 1 {
            context.write(wrapOutboundOut(frames[0].bytes), promise: nil)
            return
        }
        let total = frames.reduce(0) { $0 + $1.bytes.readableBytes }
        guard total <= Self.coalescedBytes else {
            for frame in frames { context.write(wrapOutboundOut(frame.bytes), promise: nil) }
            return
        }
        var combined = context.channel.allocator.buffer(capacity: total)
        for frame in frames { combined.writeImmutableBuffer(frame.bytes) }
        context.write(wrapOutboundOut(combined), promise: nil)
    }

    /// The server's close, after every frame queued before it: the client is expected to answer.
    private func writeClose(_ frame: ByteBuffer, to context: ChannelHandlerContext) {
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        context.writeAndFlush(wrapOutboundOut(frame)).whenSuccess {
            handler.value.machine.closeFrameWritten()
        }
    }

    /// A close was asked for: starts the deadline by which the close frame must be written and answered.
    func closeRequested() {
        guard let context else { return }
        if connection.outbox.hasOverflowed { settings.hub.metrics.slowConsumerCloses.increment() }
        guard let deadline = machine.closeRequested(now: EventLoopClock(eventLoop: context.eventLoop).now) else { return }
        scheduleDeadline(deadline, on: context.eventLoop)
    }

    private func scheduleDeadline(_ deadline: EventLoopClock.Instant, on eventLoop: any EventLoop) {
        let handler = NIOLoopBound(self, eventLoop: eventLoop)
        eventLoop.scheduleTask(deadline: deadline.deadline) {
            handler.value.deadlineReached()
        }
    }

    private func deadlineReached() {
        guard let context else { return }
        switch machine.deadlineReached(now: EventLoopClock(eventLoop: context.eventLoop).now) {
        case .closeConnection: context.close(promise: nil)
        case .wait(let until): scheduleDeadline(until, on: context.eventLoop)
        case .none: break
        }
    }

    // MARK: Heartbeat

    func ping(_ sequence: UInt64, payload: UInt64) {
        guard let context else { return }
        machine.pingSent(sequence: sequence, payload: payload)
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(Frame.ping(payload))).whenFailure { _ in channel.close(promise: nil) }
    }

    func dropIfUnanswered(_ sequence: UInt64) {
        if machine.isPingUnanswered(sequence) { context?.close(promise: nil) }
    }
}

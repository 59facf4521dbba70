import NIOCore
import NIOWebSocket
import ParleyCore
import ParleyProtocol

/// The life of one WebSocket connection, as a value that does no I/O: bytes read, the outbox's requests, the
/// heartbeat's ticks and deadlines go in; what to do comes out. ``WebSocketConnection`` is the shell around it that
/// performs the actions on its channel, so every rule of RFC 6455 Parley enforces lives here and is tested without
/// sockets, with a manual clock.
///
/// - Reading: frames are parsed (``WebSocketWire``) and checked (masked, no reserved bits or opcodes, control frames
///   whole and at most 125 bytes, fragments in order, messages within the limit, text in UTF-8, close codes the
///   client may send); whole messages are delivered, pings answered, pongs matched against the outstanding ping.
///   A violation is answered with its close code and ends the connection; nothing more is read.
/// - Reads are held back while the shell says there is no room (the session is behind, the outbox is over half
///   full) and resumed when there is.
/// - Closing follows the handshake. The client's close is echoed and ends the connection. The server's close (the
///   outbox's, on overflow or shutdown) waits for the client's answer; the connection is dropped if the close frame
///   is not written within ``closeTimeout`` or not answered within as long again. While closing, what the client
///   sends is ignored until its close.
struct ConnectionStateMachine<C: Clock> where C.Duration == Duration {
    /// How long a close frame may take to be written, and then to be answered.
    static var closeTimeout: Duration { .seconds(2) }

    private enum State {
        /// Messages flow both ways.
        case open
        /// The server's close frame is queued (`flushed` once written); only the client's close matters now.
        case closing(flushed: Bool)
        /// A close was echoed or a violation answered: nothing more is read, and the connection is ending.
        case ended
    }

    private var state = State.open
    private var frames: WebSocketWire.FrameReader
    /// The opcode and data of a fragmented message being reassembled.
    private var fragments: (opcode: WebSocketOpcode, data: ByteBuffer)?
    /// A read was held back for want of room.
    private var readPending = false
    /// The outbox said close or finished: nothing more is taken from it.
    private(set) var isWriterStopped = false
    /// The last ping sent and not yet answered by a pong echoing its payload.
    private var outstandingPing: (sequence: UInt64, payload: UInt64)?
    /// When the connection is dropped unless the close handshake has moved on, once a close is requested.
    private var closeDeadline: (at: C.Instant, awaitingAnswer: Bool)?

    /// - Parameter maxMessageBytes: The largest frame or reassembled message; larger ones end the connection (1009).
    init(maxMessageBytes: Int) {
        frames = WebSocketWire.FrameReader(maxPayload: maxMessageBytes)
    }

    private var maxMessageBytes: Int { frames.maxPayload }

    // MARK: Reading

    /// What to do about what the client sent.
    enum ReadAction: Equatable {
        /// Hand a whole message to the session.
        case deliver(Message)
        /// Answer a ping with a pong echoing `payload`, if the rate limit allows.
        case answerPing(payload: ByteBuffer)
        /// Write this close frame, then close the TCP connection; `violation` when the client broke the protocol.
        case closeAfterWriting(ByteBuffer, violation: Bool)
        /// Close the TCP connection: the client answered the server's close.
        case closeConnection
    }

    /// A whole message from the client.
    enum Message: Equatable {
        case text(String)
        case binary
    }

    /// Parses `bytes` (after what earlier reads left unparsed) and says what to do about each frame, in order.
    mutating func read(_ bytes: ByteBuffer, _ perform: (ReadAction) -> Void) {
        guard !hasEnded else { return }
        // The reader is moved out while it reads (receiving a frame changes the rest of the machine), so the bytes
        // it keeps between reads are never shared and never copied.
        var reader = WebSocketWire.FrameReader(maxPayload: frames.maxPayload)
        swap(&reader, &frames)
        defer { swap(&reader, &frames) }
        let withinLimit = reader.read(bytes) { frame in
            if let action = receive(frame) { perform(action) }
            return !hasEnded
        }
        if !withinLimit, let action = violation(.messageTooLarge, "frame over \(maxMessageBytes) bytes") {
            perform(action)
        }
    }

    private var hasEnded: Bool {
        if case .ended = state { true } else { false }
    }

    private var isOpen: Bool {
        if case .open = state { true } else { false }
    }

    private mutating func receive(_ frame: WebSocketFrame) -> ReadAction? {
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
            guard frame.fin else {
                fragments = (frame.opcode, frame.unmaskedData)
                return nil
            }
            return message(frame.opcode, frame.unmaskedData)
        case .continuation:
            guard var message = fragments.take() else {
                return violation(.protocolError, "a continuation frame with no message to continue")
            }
            guard message.data.readableBytes + frame.length <= maxMessageBytes else {
                return violation(.messageTooLarge, "message over \(maxMessageBytes) bytes")
            }
            var more = frame.unmaskedData
            message.data.writeBuffer(&more)
            guard frame.fin else {
                fragments = message
                return nil
            }
            return self.message(message.opcode, message.data)
        case .ping:
            // While closing, pings are not answered (RFC 6455 §5.5.1: no frames after a close).
            return isOpen ? .answerPing(payload: frame.unmaskedData) : nil
        case .pong:
            // Only the echo of the outstanding ping counts: an unsolicited pong proves nothing about the client.
            let payload = frame.unmaskedData
            if payload.readableBytes == 8, let ping = outstandingPing,
                payload.getInteger(at: payload.readerIndex, as: UInt64.self) == ping.payload
            {
                outstandingPing = nil
            }
            return nil
        case .connectionClose:
            return receiveClose(frame.unmaskedData)
        default:
            return violation(.protocolError, "opcode \(frame.opcode) is reserved")
        }
    }

    /// A whole message: delivered while open (after the server's close, ignored), text only if it is UTF-8.
    private mutating func message(_ opcode: WebSocketOpcode, _ data: ByteBuffer) -> ReadAction? {
        guard isOpen else { return nil }
        guard opcode == .text else { return .deliver(.binary) }
        guard let text = String(validating: data.readableBytesView, as: UTF8.self) else {
            return violation(.dataInconsistentWithMessage, "text frames must be UTF-8")
        }
        return .deliver(.text(text))
    }

    /// The client's close: the answer to the server's, or its own, which is echoed before the connection closes.
    private mutating func receiveClose(_ payload: ByteBuffer) -> ReadAction? {
        if case .closing = state {
            state = .ended
            return .closeConnection
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
        state = .ended
        return .closeAfterWriting(Frame.close(code: code), violation: false)
    }

    /// Codes a client may send (RFC 6455 §7.4): not 1004–1006, 1015 or unassigned ones.
    static func isValidCloseCode(_ code: UInt16) -> Bool {
        switch code {
        case 1000...1003, 1007...1014, 3000...4999: true
        default: false
        }
    }

    /// Fails the connection: its close code and reason, then the end of the TCP connection. While the server's own
    /// close is under way no second close frame is sent; reading stops and the close deadline ends the connection.
    private mutating func violation(_ code: WebSocketErrorCode, _ reason: String) -> ReadAction? {
        let wasOpen = isOpen
        state = .ended
        fragments = nil
        guard wasOpen else { return nil }
        return .closeAfterWriting(Frame.close(code: UInt16(webSocketErrorCode: code), reason: reason), violation: true)
    }

    // MARK: Back-pressure

    /// Whether to read now, the shell having asked; `hasRoom` is whether the session and the outbox can take more.
    /// A read not made now is made by ``roomFreed(hasRoom:)``.
    mutating func readRequested(hasRoom: Bool) -> Bool {
        if !hasRoom { readPending = true }
        return hasRoom
    }

    /// Whether to make the read held back, now that room may have been freed.
    mutating func roomFreed(hasRoom: Bool) -> Bool {
        guard readPending, hasRoom else { return false }
        readPending = false
        return true
    }

    // MARK: Closing

    /// The outbox asks to close with `code`: the close frame to write, after everything queued before it, unless the
    /// connection is closing already. Nothing more is taken from the outbox.
    mutating func outboxClosing(_ code: CloseCode, reason: String) -> ByteBuffer? {
        isWriterStopped = true
        guard isOpen else { return nil }
        state = .closing(flushed: false)
        return Frame.close(code: code.rawValue, reason: reason)
    }

    /// The outbox is finished (the connection is going away): nothing more is taken from it.
    mutating func outboxFinished() {
        isWriterStopped = true
    }

    /// The server's close frame has been written to the socket.
    mutating func closeFrameWritten() {
        if case .closing = state { state = .closing(flushed: true) }
    }

    /// A close has been asked for: the deadline to call ``deadlineReached(now:)`` at, unless one is set already.
    mutating func closeRequested(now: C.Instant) -> C.Instant? {
        guard closeDeadline == nil else { return nil }
        let deadline = now.advanced(by: Self.closeTimeout)
        closeDeadline = (deadline, false)
        return deadline
    }

    /// What the close deadline calls for.
    enum DeadlineAction: Equatable {
        /// Drop the TCP connection: the close frame was not written, or not answered, in time.
        case closeConnection
        /// Call ``deadlineReached(now:)`` again at this instant.
        case wait(until: C.Instant)
        /// Nothing: no deadline is set.
        case none
    }

    /// The close deadline's timer fired at `now`.
    mutating func deadlineReached(now: C.Instant) -> DeadlineAction {
        guard let deadline = closeDeadline else { return .none }
        guard now >= deadline.at else { return .wait(until: deadline.at) }
        if case .closing(flushed: true) = state, !deadline.awaitingAnswer {
            let answerBy = now.advanced(by: Self.closeTimeout)
            closeDeadline = (answerBy, true)
            return .wait(until: answerBy)
        }
        return .closeConnection
    }

    // MARK: Heartbeat

    /// The heartbeat sent ping number `sequence` carrying `payload`: only a pong echoing it answers.
    mutating func pingSent(sequence: UInt64, payload: UInt64) {
        outstandingPing = (sequence, payload)
    }

    /// Whether to drop the connection because ping `sequence` has gone unanswered for the pong timeout.
    func isPingUnanswered(_ sequence: UInt64) -> Bool {
        outstandingPing?.sequence == sequence
    }
}

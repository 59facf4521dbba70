import NIOCore
import ParleyProtocol
import Synchronization

/// Told by an ``Outbox`` that something arrived after ``Outbox/take(orNotify:)`` found it empty.
public protocol OutboxReader: AnyObject, Sendable {
    /// Called once per registration, on whichever thread pushed, closed or finished the outbox: take from it
    /// soon (typically by scheduling a drain on the connection's event loop). Must not block.
    func outboxHasWork()
}

/// A connection's bounded queue of outbound frames (``OutboundFrame``), filled by fan-out and drained by the connection's
/// writer.
///
/// The writer takes with ``take(orNotify:)`` and is notified when it found nothing and something arrives, so no
/// task needs to wait on an outbox: a connection's writer can run on its event loop.
///
/// Fan-out never waits on it: ``push(_:)`` either queues the frame or, when the outbox is over its byte or frame
/// bound, drops everything queued and asks the writer to close the connection with 4008 (slow consumer). Replay,
/// which must never end in 4008, waits for space with ``pushWaitingForSpace(_:)`` instead.
public final class Outbox: Sendable {
    /// What the writer gets from ``take(orNotify:)``.
    public enum Batch: Sendable, Equatable {
        /// Frames to write, in order.
        case frames([OutboundFrame])
        /// Write a close frame with this code and reason, then stop.
        case close(CloseCode, reason: String)
        /// The connection has ended; stop.
        case finished
    }

    private struct State {
        var frames: [OutboundFrame] = []
        var bytes = 0
        var closing: (code: CloseCode, reason: String)?
        var finished = false
        /// The reader to notify, registered when it found nothing to take.
        var reader: (any OutboxReader)?
        var spaceWaiters: [CheckedContinuation<Bool, Never>] = []
        var closeWatchers: [@Sendable (Bool) -> Void] = []
    }

    private let maxBytes: Int
    private let maxFrames: Int
    /// Taken under the hub's lock (Hub → Outbox); the reader, close watchers and space waiters are called only after
    /// it is released, so nothing a push triggers runs under it.
    private let state = Mutex(State())
    private let overflowed = Atomic<Bool>(false)

    /// Creates an outbox holding at most `maxBytes` bytes and `maxFrames` frames.
    public init(maxBytes: Int, maxFrames: Int) {
        self.maxBytes = maxBytes
        self.maxFrames = maxFrames
    }

    /// Queues a frame without waiting.
    /// - Returns: `false` when the frame was not queued: the outbox overflowed (and now closes with 4008) or is
    ///   already closing.
    @discardableResult
    public func push(_ frame: OutboundFrame) -> Bool {
        let (accepted, reader) = state.withLock { state -> (Bool, (any OutboxReader)?) in
            guard state.closing == nil, !state.finished else { return (false, nil) }
            if fits(frame, in: state) {
                state.frames.append(frame)
                state.bytes += frame.bytes.readableBytes
                return (true, readerToNotify(&state))
            }
            state.frames.removeAll()
            state.bytes = 0
            state.closing = (.slowConsumer, "slow consumer: outbox overflowed")
            overflowed.store(true, ordering: .relaxed)
            return (false, readerToNotify(&state))
        }
        reader?.outboxHasWork()
        if !accepted {
            releaseSpaceWaiters()
            releaseCloseWatchers()
        }
        return accepted
    }

    /// Queues a frame, waiting while the outbox is full.
    /// - Returns: `false` when the outbox closed before the frame could be queued.
    public func pushWaitingForSpace(_ frame: OutboundFrame) async -> Bool {
        while true {
            let outcome = state.withLock { state -> (queued: Bool?, reader: (any OutboxReader)?) in
                guard state.closing == nil, !state.finished else { return (false, nil) }
                guard fits(frame, in: state) else { return (nil, nil) }
                state.frames.append(frame)
                state.bytes += frame.bytes.readableBytes
                return (true, readerToNotify(&state))
            }
            outcome.reader?.outboxHasWork()
            if let queued = outcome.queued { return queued }
            let stillOpen = await withCheckedContinuation { continuation in
                let waiting = state.withLock { state -> Bool in
                    guard state.closing == nil, !state.finished else { return false }
                    guard !fits(frame, in: state) else {
                        continuation.resume(returning: true)
                        return true
                    }
                    state.spaceWaiters.append(continuation)
                    return true
                }
                if !waiting { continuation.resume(returning: false) }
            }
            if !stillOpen { return false }
        }
    }

    /// Asks the writer to flush what is queued, then close the connection with `code`.
    public func close(_ code: CloseCode, reason: String) {
        let reader = state.withLock { state -> (any OutboxReader)? in
            guard state.closing == nil, !state.finished else { return nil }
            state.closing = (code, reason)
            return readerToNotify(&state)
        }
        reader?.outboxHasWork()
        releaseSpaceWaiters()
        releaseCloseWatchers()
    }

    /// Ends the outbox: the writer stops and nothing more is queued. Call it when the connection has ended.
    public func finish() {
        let reader = state.withLock { state -> (any OutboxReader)? in
            state.finished = true
            state.frames.removeAll()
            state.bytes = 0
            return readerToNotify(&state)
        }
        reader?.outboxHasWork()
        releaseSpaceWaiters()
        releaseCloseWatchers()
    }

    /// Calls `action` once, when a close is asked for (`true`) or the outbox finishes without one (`false`); at once
    /// if that has happened already. For watching a connection without a task waiting on it.
    public func whenClosing(_ action: @escaping @Sendable (Bool) -> Void) {
        let answer = state.withLock { state -> Bool? in
            if state.closing != nil { return true }
            if state.finished { return false }
            state.closeWatchers.append(action)
            return nil
        }
        if let answer { action(answer) }
    }

    /// Whether the outbox overflowed: a writer should abandon the frames it holds and take the 4008 close at once.
    public var hasOverflowed: Bool {
        overflowed.load(ordering: .relaxed)
    }

    /// Whether ``finish()`` has been called: the connection has ended.
    public var hasFinished: Bool {
        state.withLock { $0.finished }
    }

    /// Whether more than half the bound is queued: a connection stops reading its client's commands until its
    /// writer catches up, so a client that sends faster than it reads the answers is slowed down by TCP instead of
    /// overflowing its outbox.
    public var isOverHalfFull: Bool {
        state.withLock { $0.bytes > maxBytes / 2 || $0.frames.count > maxFrames / 2 }
    }

    /// Drops the frames queued for a room (``OutboundFrame/tag(of:)``): the connection was removed from it.
    public func discard(room: String) {
        let tag = OutboundFrame.tag(of: room)
        state.withLock { state in
            state.frames.removeAll { $0.room == tag }
            state.bytes = state.frames.reduce(0) { $0 + $1.bytes.readableBytes }
        }
    }

    /// Takes the frames to write next, or the instruction to close or stop. When there is nothing, `reader` is
    /// notified once something arrives (and is held until then). One reader at a time.
    /// - Parameter maxBytes: The most bytes of frames to take at once (at least one frame is taken). A writer that
    ///   takes only what its socket can take leaves the rest here, where ``discard(room:)`` and an overflow still
    ///   reach it.
    public func take(orNotify reader: any OutboxReader, maxBytes: Int = .max) -> Batch? {
        let batch = state.withLock { state -> Batch? in
            if let batch = takeBatch(&state, maxBytes: maxBytes) { return batch }
            state.reader = reader
            return nil
        }
        if case .frames = batch { releaseSpaceWaiters() }
        return batch
    }

    private func fits(_ frame: OutboundFrame, in state: State) -> Bool {
        if state.frames.isEmpty { return true }
        return state.frames.count < maxFrames && state.bytes + frame.bytes.readableBytes <= maxBytes
    }

    /// Takes what the writer should do next, if anything.
    private func takeBatch(_ state: inout State, maxBytes: Int) -> Batch? {
        if state.finished { return .finished }
        if state.bytes > maxBytes {
            var count = 1
            var bytes = state.frames[0].bytes.readableBytes
            while count < state.frames.count, bytes + state.frames[count].bytes.readableBytes <= maxBytes {
                bytes += state.frames[count].bytes.readableBytes
                count += 1
            }
            let frames = Array(state.frames[..<count])
            state.frames.removeFirst(count)
            state.bytes -= bytes
            return .frames(frames)
        }
        if !state.frames.isEmpty {
            // Handed over, not copied: keeping the capacity would allocate a new array per batch, and an idle
            // connection would hold the largest one it ever had.
            let frames = state.frames
            state.frames = []
            state.bytes = 0
            return .frames(frames)
        }
        if let closing = state.closing {
            return .close(closing.code, reason: closing.reason)
        }
        return nil
    }

    /// Unregisters the waiting reader, if any, so it can be notified outside the lock.
    private func readerToNotify(_ state: inout State) -> (any OutboxReader)? {
        defer { state.reader = nil }
        return state.reader
    }

    private func releaseCloseWatchers() {
        let (watchers, closing) = state.withLock { state in
            defer { state.closeWatchers.removeAll() }
            return (state.closeWatchers, state.closing != nil)
        }
        for watcher in watchers { watcher(closing) }
    }

    private func releaseSpaceWaiters() {
        let waiters = state.withLock { state -> [CheckedContinuation<Bool, Never>] in
            defer { state.spaceWaiters.removeAll() }
            return state.spaceWaiters
        }
        for waiter in waiters { waiter.resume(returning: true) }
    }
}

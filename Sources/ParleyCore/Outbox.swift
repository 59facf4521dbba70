import NIOCore
import ParleyProtocol
import Synchronization

/// A connection's bounded queue of encoded frames, filled by fan-out and drained by the connection's writer.
///
/// Fan-out never waits on it: ``push(_:)`` either queues the frame or, when the outbox is over its byte or frame
/// bound, drops everything queued and asks the writer to close the connection with 4008 (slow consumer). Replay,
/// which must never end in 4008, waits for space with ``pushWaitingForSpace(_:)`` instead.
public final class Outbox: Sendable {
    /// What the writer gets from ``next()``.
    public enum Batch: Sendable, Equatable {
        /// Frames to write, in order.
        case frames([ByteBuffer])
        /// Write a close frame with this code and reason, then stop.
        case close(CloseCode, reason: String)
        /// The connection has ended; stop.
        case finished
    }

    private struct State {
        var frames: [ByteBuffer] = []
        var bytes = 0
        var closing: (code: CloseCode, reason: String)?
        var finished = false
        var writer: CheckedContinuation<Batch, Never>?
        var spaceWaiters: [CheckedContinuation<Bool, Never>] = []
        var closeWatchers: [@Sendable (Bool) -> Void] = []
    }

    private let maxBytes: Int
    private let maxFrames: Int
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
    public func push(_ frame: ByteBuffer) -> Bool {
        let (accepted, resume) = state.withLock { state -> (Bool, (CheckedContinuation<Batch, Never>, Batch)?) in
            guard state.closing == nil, !state.finished else { return (false, nil) }
            if fits(frame, in: state) {
                state.frames.append(frame)
                state.bytes += frame.readableBytes
                return (true, takeForWriter(&state))
            }
            state.frames.removeAll()
            state.bytes = 0
            state.closing = (.slowConsumer, "slow consumer: outbox overflowed")
            overflowed.store(true, ordering: .relaxed)
            return (false, takeForWriter(&state))
        }
        if let (writer, batch) = resume { writer.resume(returning: batch) }
        if !accepted {
            releaseSpaceWaiters()
            releaseCloseWatchers()
        }
        return accepted
    }

    /// Queues a frame, waiting while the outbox is full.
    /// - Returns: `false` when the outbox closed before the frame could be queued.
    public func pushWaitingForSpace(_ frame: ByteBuffer) async -> Bool {
        while true {
            let outcome = state.withLock { state -> (queued: Bool?, resume: (CheckedContinuation<Batch, Never>, Batch)?) in
                guard state.closing == nil, !state.finished else { return (false, nil) }
                guard fits(frame, in: state) else { return (nil, nil) }
                state.frames.append(frame)
                state.bytes += frame.readableBytes
                return (true, takeForWriter(&state))
            }
            if let (writer, batch) = outcome.resume { writer.resume(returning: batch) }
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
        let resume = state.withLock { state -> (CheckedContinuation<Batch, Never>, Batch)? in
            guard state.closing == nil, !state.finished else { return nil }
            state.closing = (code, reason)
            return takeForWriter(&state)
        }
        if let (writer, batch) = resume { writer.resume(returning: batch) }
        releaseSpaceWaiters()
        releaseCloseWatchers()
    }

    /// Ends the outbox: the writer stops and nothing more is queued. Call it when the connection has ended.
    public func finish() {
        let writer = state.withLock { state -> CheckedContinuation<Batch, Never>? in
            state.finished = true
            state.frames.removeAll()
            state.bytes = 0
            defer { state.writer = nil }
            return state.writer
        }
        writer?.resume(returning: .finished)
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

    /// Waits for the next frames to write, or for the instruction to close. Only one writer may wait at a time.
    public func next() async -> Batch {
        let immediate = state.withLock { state -> Batch? in
            let batch = takeBatch(&state)
            return batch
        }
        if let immediate {
            if case .frames = immediate { releaseSpaceWaiters() }
            return immediate
        }
        return await withCheckedContinuation { continuation in
            let ready = state.withLock { state -> Batch? in
                if let batch = takeBatch(&state) { return batch }
                state.writer = continuation
                return nil
            }
            if let ready {
                continuation.resume(returning: ready)
                if case .frames = ready { releaseSpaceWaiters() }
            }
        }
    }

    private func fits(_ frame: ByteBuffer, in state: State) -> Bool {
        if state.frames.isEmpty { return true }
        return state.frames.count < maxFrames && state.bytes + frame.readableBytes <= maxBytes
    }

    /// Takes what the writer should do next, if anything.
    private func takeBatch(_ state: inout State) -> Batch? {
        if state.finished { return .finished }
        if !state.frames.isEmpty {
            let frames = state.frames
            state.frames.removeAll(keepingCapacity: true)
            state.bytes = 0
            return .frames(frames)
        }
        if let closing = state.closing {
            return .close(closing.code, reason: closing.reason)
        }
        return nil
    }

    /// If the writer is waiting, takes its next batch so it can be resumed outside the lock.
    private func takeForWriter(_ state: inout State) -> (CheckedContinuation<Batch, Never>, Batch)? {
        guard let writer = state.writer, let batch = takeBatch(&state) else { return nil }
        state.writer = nil
        return (writer, batch)
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

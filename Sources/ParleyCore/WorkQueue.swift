import Dispatch
import Synchronization

/// An unbounded queue with one consumer that takes everything queued at once, so work can be done in batches.
///
/// The consumer is either a task (``next()``) or a thread of its own (``nextBlocking()``), never both.
package final class WorkQueue<Element: Sendable>: Sendable {
    private enum Consumer {
        /// A task suspended in ``next()``.
        case task(CheckedContinuation<[Element]?, Never>)
        /// A thread blocked in ``nextBlocking()``, on `wakeUp`.
        case thread
    }

    private struct State {
        var items: [Element] = []
        var finished = false
        var consumer: Consumer?
    }

    private let state = Mutex(State())
    /// Signalled once per wait of a blocked consumer thread.
    private let wakeUp = DispatchSemaphore(value: 0)

    /// Creates an empty queue.
    package init() {}

    /// Queues an element; returns `false` if the queue has finished.
    @discardableResult
    package func push(_ element: Element) -> Bool {
        let (accepted, consumer) = state.withLock { state -> (Bool, (Consumer, [Element])?) in
            guard !state.finished else { return (false, nil) }
            state.items.append(element)
            guard let consumer = state.consumer else { return (true, nil) }
            state.consumer = nil
            // A thread takes the items itself once awake.
            guard case .task = consumer else { return (true, (consumer, [])) }
            defer { state.items.removeAll() }
            return (true, (consumer, state.items))
        }
        switch consumer {
        case (.task(let continuation), let items)?: continuation.resume(returning: items)
        case (.thread, _)?: wakeUp.signal()
        case nil: break
        }
        return accepted
    }

    /// Waits for elements and takes all that are queued; `nil` once the queue has finished and is empty.
    package func next() async -> [Element]? {
        await withCheckedContinuation { continuation in
            if let ready = takeOrWait(as: .task(continuation)) { continuation.resume(returning: ready) }
        }
    }

    /// Blocks the calling thread until elements are queued and takes them all; `nil` once the queue has finished and
    /// is empty. For a consumer that is a thread of its own, so nothing hops through Swift's concurrency pool.
    package func nextBlocking() -> [Element]? {
        while true {
            if let ready = takeOrWait(as: .thread) { return ready }
            wakeUp.wait()
        }
    }

    /// For a consumer thread that holds a batch and would rather add to it than handle it alone: blocks until an
    /// element is queued or `deadline` passes, then takes what is queued (nothing if none came or the queue finished).
    package func moreBlocking(until deadline: DispatchTime) -> [Element] {
        if let ready = takeOrWait(as: .thread) { return ready ?? [] }
        if wakeUp.wait(timeout: deadline) == .timedOut {
            let signalled = state.withLock { state -> Bool in
                guard case .thread = state.consumer else { return true }
                state.consumer = nil
                return false
            }
            // A push (or finish) took the registration as the wait timed out: its signal is on its way, and is
            // taken here so that it does not wake the next wait early.
            if signalled { wakeUp.wait() }
        }
        return state.withLock { state in
            defer { state.items.removeAll() }
            return state.items
        }
    }

    /// Takes what is queued (or `.some(nil)` when finished), or registers `consumer` to be woken and returns `nil`.
    private func takeOrWait(as consumer: Consumer) -> [Element]?? {
        state.withLock { state -> [Element]?? in
            if !state.items.isEmpty {
                defer { state.items.removeAll() }
                return .some(state.items)
            }
            if state.finished { return .some(nil) }
            state.consumer = consumer
            return .none
        }
    }

    /// Refuses further elements; the consumer still gets what is queued, then `nil`.
    package func finish() {
        let consumer = state.withLock { state -> Consumer? in
            state.finished = true
            defer { state.consumer = nil }
            return state.items.isEmpty ? state.consumer : nil
        }
        switch consumer {
        case .task(let continuation)?: continuation.resume(returning: nil)
        case .thread?: wakeUp.signal()
        case nil: break
        }
    }
}

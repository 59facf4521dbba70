import Synchronization

/// An unbounded queue with one consumer that takes everything queued at once, so work can be done in batches.
package final class WorkQueue<Element: Sendable>: Sendable {
    private struct State {
        var items: [Element] = []
        var finished = false
        var consumer: CheckedContinuation<[Element]?, Never>?
    }

    private let state = Mutex(State())

    /// Creates an empty queue.
    package init() {}

    /// Queues an element; returns `false` if the queue has finished.
    @discardableResult
    package func push(_ element: Element) -> Bool {
        let (accepted, consumer) = state.withLock { state -> (Bool, (CheckedContinuation<[Element]?, Never>, [Element])?) in
            guard !state.finished else { return (false, nil) }
            state.items.append(element)
            guard let consumer = state.consumer else { return (true, nil) }
            state.consumer = nil
            defer { state.items.removeAll() }
            return (true, (consumer, state.items))
        }
        if let (continuation, items) = consumer { continuation.resume(returning: items) }
        return accepted
    }

    /// Waits for elements and takes all that are queued; `nil` once the queue has finished and is empty.
    package func next() async -> [Element]? {
        await withCheckedContinuation { continuation in
            let ready = state.withLock { state -> [Element]?? in
                if !state.items.isEmpty {
                    defer { state.items.removeAll() }
                    return .some(state.items)
                }
                if state.finished { return .some(nil) }
                state.consumer = continuation
                return .none
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }

    /// Refuses further elements; the consumer still gets what is queued, then `nil`.
    package func finish() {
        let consumer = state.withLock { state -> CheckedContinuation<[Element]?, Never>? in
            state.finished = true
            defer { state.consumer = nil }
            return state.items.isEmpty ? state.consumer : nil
        }
        consumer?.resume(returning: nil)
    }
}

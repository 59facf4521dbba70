import Synchronization

/// Received frames, waited for one at a time with a timeout.
final class Inbox: Sendable {
    private struct State {
        var items: [Received] = []
        var ended = false
        var waiter: CheckedContinuation<Received?, Never>?
    }

    private let state = Mutex(State())

    func append(_ item: Received) {
        let waiter = state.withLock { state -> CheckedContinuation<Received?, Never>? in
            if let waiter = state.waiter {
                state.waiter = nil
                return waiter
            }
            state.items.append(item)
            return nil
        }
        waiter?.resume(returning: item)
    }

    func end() {
        let waiter = state.withLock { state -> CheckedContinuation<Received?, Never>? in
            state.ended = true
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(returning: nil)
    }

    /// The next frame, or `nil` when the connection has ended or `timeout` passed.
    func next(timeout: Duration) async -> Received? {
        await withTaskGroup(of: Received?.self) { group in
            group.addTask { await self.take() }
            group.addTask {
                try? await Task.sleep(for: timeout)
                self.cancelWait()
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
    }

    private func take() async -> Received? {
        await withCheckedContinuation { continuation in
            let ready = state.withLock { state -> Received?? in
                if !state.items.isEmpty { return .some(state.items.removeFirst()) }
                if state.ended { return .some(nil) }
                state.waiter = continuation
                return .none
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }

    private func cancelWait() {
        let waiter = state.withLock { state -> CheckedContinuation<Received?, Never>? in
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(returning: nil)
    }
}

/// A frame a test client received.
package enum Received: Sendable, Equatable {
    case text(String)
    case binary([UInt8])
}

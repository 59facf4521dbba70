import ParleyCore
import Synchronization

extension Outbox {
    /// Waits for the next batch, as a connection's writer would take it: for tests that read an outbox directly.
    func next(maxBytes: Int = .max) async -> Batch {
        while true {
            let waiter = WaitingReader()
            if let batch = await withCheckedContinuation({ continuation in
                waiter.wait(continuation)
                if let batch = take(orNotify: waiter, maxBytes: maxBytes) { waiter.cancel(with: batch) }
            }) {
                return batch
            }
        }
    }
}

/// Resumes a continuation when notified: `nil` means "look again".
private final class WaitingReader: OutboxReader {
    private let continuation = Mutex<CheckedContinuation<Outbox.Batch?, Never>?>(nil)

    func wait(_ continuation: CheckedContinuation<Outbox.Batch?, Never>) {
        self.continuation.withLock { $0 = continuation }
    }

    func cancel(with batch: Outbox.Batch) {
        continuation.withLock { $0.take() }?.resume(returning: batch)
    }

    func outboxHasWork() {
        continuation.withLock { $0.take() }?.resume(returning: nil)
    }
}

import ServiceLifecycle

/// Appends waiting for a store's one writer, which commits everything queued meanwhile in one transaction (group
/// commit): one fsync, or one round of database statements, covers many messages.
package final class GroupCommitQueue: Sendable {
    /// One caller's drafts, in a batch handed to the writer.
    package struct PendingWrite: Sendable {
        /// The drafts, in the order their offsets must follow.
        package let drafts: [MessageDraft]
        fileprivate let continuation: CheckedContinuation<[AppendOutcome], any Error>
    }

    private let writes = WorkQueue<PendingWrite>()

    /// Creates an empty queue.
    package init() {}

    /// Queues drafts for the writer and waits for their outcomes.
    /// - Parameter closed: The error to throw when the store has shut down.
    package func append(_ drafts: [MessageDraft], closed: @autoclosure () -> any Error) async throws -> [AppendOutcome] {
        guard !drafts.isEmpty else { return [] }
        let closedError = closed()
        return try await withCheckedThrowingContinuation { continuation in
            if !writes.push(PendingWrite(drafts: drafts, continuation: continuation)) {
                continuation.resume(throwing: closedError)
            }
        }
    }

    /// Hands each batch of queued writes to `commit` until graceful shutdown (or cancellation), then the writes still
    /// queued, and returns.
    package func run(_ commit: ([PendingWrite]) async -> Void) async {
        await withTaskCancellationHandler {
            await withGracefulShutdownHandler {
                while let batch = await writes.next() {
                    await commit(batch)
                }
            } onGracefulShutdown: {
                self.writes.finish()
            }
        } onCancel: {
            self.writes.finish()
        }
    }

    /// Answers every caller of a committed batch with its own outcomes, in order.
    /// - Parameter outcomes: One outcome per draft of the batch, in batch order.
    package static func answer(_ batch: [PendingWrite], with outcomes: [AppendOutcome]) {
        var remaining = outcomes[...]
        for write in batch {
            write.continuation.resume(returning: Array(remaining.prefix(write.drafts.count)))
            remaining = remaining.dropFirst(write.drafts.count)
        }
    }

    /// Fails every caller of a batch that could not be committed.
    package static func fail(_ batch: [PendingWrite], with error: any Error) {
        for write in batch { write.continuation.resume(throwing: error) }
    }
}

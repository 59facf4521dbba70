import Foundation
import ServiceLifecycle

/// Appends waiting for a store's one writer, which commits everything queued meanwhile in one transaction (group
/// commit): one fsync, or one round of database statements, covers many messages.
package final class GroupCommitQueue: Sendable {
    /// One caller's drafts, in a batch handed to the writer.
    package struct PendingWrite: Sendable {
        /// The drafts, in the order their offsets must follow.
        package let drafts: [MessageDraft]
        fileprivate let answer: AppendAnswer
    }

    private let writes = WorkQueue<PendingWrite>()

    /// Creates an empty queue.
    package init() {}

    /// Queues drafts for the writer, which calls `answer` with their outcomes.
    /// - Parameter closed: The error to answer with when the store has shut down.
    package func append(_ drafts: [MessageDraft], closed: @autoclosure () -> any Error, then answer: @escaping AppendAnswer) {
        guard !drafts.isEmpty else { return answer(.success([])) }
        if !writes.push(PendingWrite(drafts: drafts, answer: answer)) { answer(.failure(closed())) }
    }

    /// Hands each batch of queued writes to `commit` until graceful shutdown (or cancellation), then the writes still
    /// queued, and returns.
    package func run(_ commit: ([PendingWrite]) async -> Void) async {
        await whileRunning {
            while let batch = await writes.next() {
                await commit(batch)
            }
        }
    }

    /// Like ``run(_:)``, for a `commit` that blocks (a file's fsync): it runs on a thread of its own, named `name`,
    /// and answers its callers from there, so a write crosses no task or dispatch queue between its sender's event
    /// loop and its answer.
    /// - Parameter gatherWindow: How long a lone write may wait for another to share its commit
    ///   (``CommitGathering``); zero commits every batch at once.
    package func runOnOwnThread(
        named name: String,
        gatherWindow: Duration,
        _ commit: @escaping @Sendable ([PendingWrite]) -> Void
    ) async {
        let windowNanoseconds = UInt64(gatherWindow / .nanoseconds(1))
        await whileRunning {
            await withCheckedContinuation { (stopped: CheckedContinuation<Void, Never>) in
                let writes = self.writes
                let thread = Thread {
                    // Named in the OS by the thread itself (proc(5)): Foundation's name reaches the OS only sometimes,
                    // and the thread then kept the name of the Dispatch worker that started it.
                    try? name.write(toFile: "/proc/thread-self/comm", atomically: false, encoding: .utf8)
                    var gathering = CommitGathering(windowNanoseconds: windowNanoseconds)
                    while var batch = writes.nextBlocking() {
                        let now = DispatchTime.now().uptimeNanoseconds
                        if gathering.shouldWait(holding: batch.count, now: now) {
                            let more = writes.moreBlocking(until: DispatchTime(uptimeNanoseconds: now + windowNanoseconds))
                            gathering.waited(broughtMore: !more.isEmpty)
                            batch += more
                        }
                        commit(batch)
                        gathering.committed(batch.count, at: DispatchTime.now().uptimeNanoseconds)
                    }
                    stopped.resume()
                }
                thread.name = name
                thread.start()
            }
        }
    }

    /// Runs `body`, finishing the queue on graceful shutdown or cancellation.
    private func whileRunning(_ body: () async -> Void) async {
        await withTaskCancellationHandler {
            await withGracefulShutdownHandler {
                await body()
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
            write.answer(.success(Array(remaining.prefix(write.drafts.count))))
            remaining = remaining.dropFirst(write.drafts.count)
        }
    }

    /// Fails every caller of a batch that could not be committed.
    package static func fail(_ batch: [PendingWrite], with error: any Error) {
        for write in batch { write.answer(.failure(error)) }
    }
}

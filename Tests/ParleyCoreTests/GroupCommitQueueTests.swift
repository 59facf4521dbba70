import Foundation
import ParleyCore
import Synchronization
import Testing

@Suite(.timeLimit(.minutes(1))) struct GroupCommitQueueTests {
    /// The writer's thread carries its name from its first commit on, every time it starts: `top -H`, `perf` and
    /// parley-bench's CPU by thread find it by that name.
    @Test func theWriterThreadIsNamedFromItsFirstCommit() async throws {
        for attempt in 0..<50 {
            let queue = GroupCommitQueue()
            let names = Mutex<[String]>([])
            let writer = Task {
                await queue.runOnOwnThread(named: "test-writer") { batch in
                    let name = (try? String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8)) ?? "?"
                    names.withLock { $0.append(name.trimmingCharacters(in: .whitespacesAndNewlines)) }
                    GroupCommitQueue.answer(batch, with: [])
                }
            }
            await withCheckedContinuation { (answered: CheckedContinuation<Void, Never>) in
                queue.append(
                    [MessageDraft(room: "r", senderID: "guest:a", sender: "a", clientID: "\(attempt)", text: "t")],
                    closed: CancellationError(),
                    then: { _ in answered.resume() }
                )
            }
            writer.cancel()
            await writer.value
            #expect(names.withLock { $0 } == ["test-writer"], "start \(attempt)")
        }
    }
}

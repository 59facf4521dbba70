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
                await queue.runOnOwnThread(named: "test-writer", gatherWindow: .zero) { batch in
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

    /// A write that comes within the window of the last commit waits for another to share its commit, but a first
    /// write does not wait for anything.
    @Test(arguments: [Duration.seconds(30), .zero])
    func aLoneWriteRightAfterACommitWaitsForTheNextOneWithinTheWindow(window: Duration) async throws {
        let queue = GroupCommitQueue()
        let batches = Mutex<[[String]]>([])
        let writer = Task {
            await queue.runOnOwnThread(named: "test-writer", gatherWindow: window) { batch in
                batches.withLock { $0.append(batch.flatMap { $0.drafts.map(\.clientID) }) }
                GroupCommitQueue.answer(batch, with: [])
            }
        }
        func send(_ id: String) async {
            await withCheckedContinuation { (answered: CheckedContinuation<Void, Never>) in
                queue.append(
                    [MessageDraft(room: "r", senderID: "guest:a", sender: "a", clientID: id, text: "t")],
                    closed: CancellationError(),
                    then: { _ in answered.resume() }
                )
            }
        }
        await send("first")
        if window == .zero {
            // Answered without another write coming: nothing waits.
            await send("second")
            await send("third")
        } else {
            async let second: Void = send("second")
            try await Task.sleep(for: .milliseconds(100))
            async let third: Void = send("third")
            _ = await (second, third)
        }
        writer.cancel()
        await writer.value
        let expected = window == .zero ? [["first"], ["second"], ["third"]] : [["first"], ["second", "third"]]
        #expect(batches.withLock { $0 } == expected)
    }
}

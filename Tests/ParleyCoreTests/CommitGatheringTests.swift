import Foundation
import ParleyCore
import Synchronization
import Testing

@Suite struct CommitGatheringTests {
    private static let window: UInt64 = 2_000_000

    @Test func aLoneWriteWaitsOnlyWhenTheLastCommitEndedWithinTheWindow() {
        var gathering = CommitGathering(windowNanoseconds: Self.window)
        let beforeAnyCommit = gathering.shouldWait(holding: 1, now: 1_000)
        gathering.committed(1, at: 10_000_000)
        let backToBack = gathering.shouldWait(holding: 1, now: 11_000_000)
        let aWindowLater = gathering.shouldWait(holding: 1, now: 12_000_000)
        let holdingTwo = gathering.shouldWait(holding: 2, now: 10_500_000)
        gathering.committed(2, at: 20_000_000)
        let afterAPair = gathering.shouldWait(holding: 1, now: 20_500_000)
        gathering.committed(3, at: 30_000_000)
        let afterThree = gathering.shouldWait(holding: 1, now: 30_500_000)
        var off = CommitGathering(windowNanoseconds: 0)
        off.committed(1, at: 0)
        let withNoWindow = off.shouldWait(holding: 1, now: 0)
        #expect(!beforeAnyCommit, "no commit yet: a quiet server commits at once")
        #expect(backToBack, "writes coming back to back")
        #expect(!aWindowLater, "a window or more since the last commit")
        #expect(!holdingTwo, "a batch already shares its commit")
        #expect(afterAPair, "a commit of two is what waiting makes")
        #expect(!afterThree, "commits already shared: waiting would only hold back the answers")
        #expect(!withNoWindow, "a zero window never waits")
    }

    @Test func fruitlessWaitsSkipTwiceAsManyChancesEachTimeUpToTheBoundAndAFruitfulOneStartsOver() {
        var gathering = CommitGathering(windowNanoseconds: Self.window)
        gathering.committed(1, at: 0)
        func chancesSkippedBeforeTheNextWait() -> Int {
            var skipped = 0
            while skipped <= CommitGathering.maxSkipped, !gathering.shouldWait(holding: 1, now: 1) { skipped += 1 }
            return skipped
        }
        let first = gathering.shouldWait(holding: 1, now: 1)
        #expect(first)
        var skips: [Int] = []
        for _ in 0..<11 {
            gathering.waited(broughtMore: false)
            skips.append(chancesSkippedBeforeTheNextWait())
        }
        #expect(skips == [1, 2, 4, 8, 16, 32, 64, 128, 256, 256, 256])
        gathering.waited(broughtMore: true)
        #expect(chancesSkippedBeforeTheNextWait() == 0, "a wait that paid keeps waiting")
        gathering.waited(broughtMore: false)
        #expect(chancesSkippedBeforeTheNextWait() == 1, "and the next fruitless one starts the count over")
    }
}

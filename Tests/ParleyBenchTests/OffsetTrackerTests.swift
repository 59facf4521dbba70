@testable import ParleyBench
import ParleyProtocol
import Testing

@Suite struct OffsetTrackerTests {
    @Test func inOrderOffsetsCountNothingAndTheTailAgainstTheHeadIsLost() {
        var tracker = OffsetTracker()
        for offset in 1...5 { tracker.receive(Int64(offset)) }
        #expect(tracker.lost(head: 5) == 0)
        #expect(tracker.lost(head: 8) == 3)
        #expect(tracker.duplicated == 0 && tracker.outOfOrder == 0)
    }

    @Test func gapsRepeatsAndLateArrivalsAreToldApart() {
        var tracker = OffsetTracker()
        for offset: Int64 in [1, 2, 5, 3, 5, 2, 6] { tracker.receive(offset) }
        #expect(tracker.outOfOrder == 1)
        #expect(tracker.duplicated == 2)
        #expect(tracker.lost(head: 6) == 1)
    }

    @Test func benchMessagesCarryTheirScheduledTimeInTextAndId() throws {
        let command = BenchMessage.command(room: "r", sender: 3, sequence: 7, scheduledAt: .milliseconds(1500), padding: "xx")
        guard case .send(_, let text, let id) = try ClientFrame.decode(command).command else {
            Issue.record("not a send")
            return
        }
        #expect(BenchMessage.scheduledTime(in: text) == .milliseconds(1500))
        #expect(BenchMessage.scheduledTime(in: id) == .milliseconds(1500))
        #expect(BenchMessage.scheduledTime(in: "plain text") == nil)
    }
}

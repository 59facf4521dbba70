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

    @Test func deliveriesAreReadWithoutAJSONDecoderExactlyAsTheServerWritesThem() throws {
        let message = ChatMessage(room: "bench-x-0", offset: 42, id: "3-7-1500000000", from: "bench-3",
                                  text: "bench|1500000000|xxxx", ts: "2026-11-26T00:00:00.000Z")
        let frame = String(decoding: ServerEvent.message(message).jsonBytes(), as: UTF8.self)
        #expect(BenchMessage.parseDelivery(frame)?.offset == 42)
        #expect(BenchMessage.parseDelivery(frame)?.scheduledNanos == 1_500_000_000)
        let other = ChatMessage(room: "r", offset: 1, id: "x", from: "y", text: "hello", ts: "z")
        #expect(BenchMessage.parseDelivery(String(decoding: ServerEvent.message(other).jsonBytes(), as: UTF8.self)) == nil)
        #expect(BenchMessage.parseDelivery(#"{"id":"a","offset":1,"room":"r","ts":"z","type":"ack"}"#) == nil)
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

    @Test func plainTextsCarryTimeSenderAndSequenceThroughAnyPrefix() {
        let text = BenchMessage.plainText(sender: 3, sequence: 41, scheduledAt: .nanoseconds(1_500_000_000), padding: "xx")
        #expect(text == "bench|1500000000|3|41|xx")
        let parsed = BenchMessage.parsePlain("Mensagem recebida: " + text)
        #expect(parsed?.scheduledNanos == 1_500_000_000 && parsed?.sender == 3 && parsed?.sequence == 41)
        #expect(BenchMessage.parsePlain("Um cliente desconectou.") == nil)
        #expect(BenchMessage.parsePlain("bench|12|x") == nil)
    }
}

import NIOCore
import ParleyProtocol
import Testing

@testable import ParleyBench

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
        let message = ChatMessage(
            room: "bench-x-0",
            offset: 42,
            id: "3-7-1500000000",
            from: "bench-3",
            fromId: "guest:bench-3",
            text: "bench|1500000000|xxxx",
            ts: "2026-11-26T00:00:00.000Z"
        )
        let frame = ByteBuffer(bytes: ServerEvent.message(message).jsonBytes())
        #expect(BenchMessage.parseDelivery(frame)?.offset == 42)
        #expect(BenchMessage.parseDelivery(frame)?.scheduledNanos == 1_500_000_000)
        let other = ChatMessage(room: "r", offset: 1, id: "x", from: "y", fromId: "guest:x", text: "hello", ts: "z")
        #expect(BenchMessage.parseDelivery(ByteBuffer(bytes: ServerEvent.message(other).jsonBytes())) == nil)
        #expect(BenchMessage.parseDelivery(ByteBuffer(string: #"{"id":"a","offset":1,"room":"r","ts":"z","type":"ack"}"#)) == nil)
    }

    @Test func presenceAndTypingAreToldApartFromWhatTheBenchCounts() {
        let presence = ByteBuffer(bytes: ServerEvent.presence(room: "r", event: .join, user: .guest(named: "bench-1")).jsonBytes())
        let typing = ByteBuffer(bytes: ServerEvent.typing(room: "r", from: .guest(named: "bench-1")).jsonBytes())
        #expect(BenchMessage.isAnnouncement(presence) && BenchMessage.isAnnouncement(typing))
        let quoting = ChatMessage(room: "r", offset: 1, id: "x", from: "y", fromId: "guest:x", text: #""type":"presence""#, ts: "z")
        #expect(!BenchMessage.isAnnouncement(ByteBuffer(bytes: ServerEvent.message(quoting).jsonBytes())))
    }

    @Test func aJoinedsHeadIsReadWithoutDecodingItsLists() {
        let users = (1...100).map { UserRef(id: "guest:bench-\($0)", name: "bench-\($0)") }
        let joined = ServerEvent.joined(
            ref: nil,
            room: "r",
            head: 9_876,
            members: users.map(\.name),
            users: users,
            about: JoinedRoom(memberCount: 10_000)
        )
        #expect(BenchMessage.parseJoinedHead(ByteBuffer(bytes: joined.jsonBytes())) == 9_876)
        let quoting = ChatMessage(room: "r", offset: 1, id: "x", from: "y", fromId: "guest:x", text: #""type":"joined""#, ts: "z")
        #expect(BenchMessage.parseJoinedHead(ByteBuffer(bytes: ServerEvent.message(quoting).jsonBytes())) == nil)
        #expect(BenchMessage.parseJoinedHead(ByteBuffer(bytes: ServerEvent.presenceCount(room: "r", count: 3).jsonBytes())) == nil)
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
        let parsed = BenchMessage.parsePlain(ByteBuffer(string: "Mensagem recebida: " + text))
        #expect(parsed?.scheduledNanos == 1_500_000_000 && parsed?.sender == 3 && parsed?.sequence == 41)
        #expect(BenchMessage.parsePlain(ByteBuffer(string: "Um cliente desconectou.")) == nil)
        #expect(BenchMessage.parsePlain(ByteBuffer(string: "bench|12|x")) == nil)
    }
}

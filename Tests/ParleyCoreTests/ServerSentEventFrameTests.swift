import NIOCore
import ParleyProtocol
import Testing

@testable import ParleyCore

/// Event-stream frames: `event:` and `data:` lines and a blank line, tagged with their room and the offset that
/// moves the stream's cursor; the stream's writer adds `id:`.
@Suite struct ServerSentEventFrameTests {
    private let message = ChatMessage(
        room: "lobby",
        offset: 7,
        id: "c1",
        from: "Ana",
        fromId: "ana",
        text: "two\nlines",
        ts: "2026-11-30T00:00:00.000Z"
    )

    @Test func aMessageIsOneEventWhoseDataIsItsParleyJSONOnOneLine() {
        let event = ServerEvent.message(message)
        let frame = FrameFormat.serverSentEvents.encode(event)
        let text = String(buffer: frame.bytes)
        #expect(text == "event: message\ndata: \(String(decoding: event.jsonBytes(), as: UTF8.self))\n\n")
        #expect(text.split(separator: "\n").count == 2, "a newline in the text stays escaped inside the JSON")
        #expect(frame.room == OutboundFrame.tag(of: "lobby"))
        #expect(frame.offset == 7)
    }

    @Test func aDeletionMovesTheCursorAndPresenceDoesNot() {
        #expect(FrameFormat.serverSentEvents.encode(.deleted(room: "lobby", offset: 9, target: 7, by: "ana")).offset == 9)
        let presence = FrameFormat.serverSentEvents.encode(.presence(room: "lobby", event: .join, user: UserRef(id: "ana", name: "Ana")))
        #expect(presence.offset == 0)
        #expect(presence.room == OutboundFrame.tag(of: "lobby"))
    }

    @Test func aFanOutEncodesForStreamsOnlyWhileOneIsOpenAndAStreamAlwaysGetsItsFormat() {
        let event = ServerEvent.message(message)
        let expected = FrameFormat.serverSentEvents.encode(event)
        // With or without a stream open when the fan-out began, a stream's member gets the event-stream frame.
        #expect(FormatEncodings(event)[.serverSentEvents] == expected)
        EventStreams.opened()
        defer { EventStreams.closed() }
        let encodings = FormatEncodings(event)
        #expect(encodings[.serverSentEvents] == expected)
        #expect(encodings[.webSocket] == FrameFormat.webSocket.encode(event))
    }
}

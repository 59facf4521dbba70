import ParleyProtocol
import Testing

@Suite struct ServerEventTests {
    @Test func everyEventRoundTripsThroughJSON() throws {
        let message = ChatMessage(room: "r", offset: 3, id: "c", from: "Ana", text: "a/b \"q\" \u{7}", ts: "2026-11-26T18:00:00.000Z")
        let events: [ServerEvent] = [
            .welcome(ref: "h", session: "s1", user: "Ana", limits: Limits()),
            .joined(ref: nil, room: "r", head: 3, members: ["Ana", "Bruno"]),
            .message(message),
            .ack(ref: "x", room: "r", id: "c", offset: 3, ts: message.ts),
            .history(ref: nil, room: "r", messages: [message]),
            .typing(room: "r", from: "Ana"),
            .presence(room: "r", event: .leave, user: "Ana"),
            .left(ref: "l", room: "r"),
            .pong(ref: nil),
            .error(ref: "e", code: .notJoined, message: "join r first"),
        ]
        for event in events {
            let text = String(decoding: event.jsonBytes(), as: UTF8.self)
            #expect(try ServerEvent.decode(text) == event)
            #expect(text.contains(#""type":"\#(event.type)""#))
        }
    }

    @Test func aMessageIsOneFlatObjectAndRefIsLeftOutWhenAbsent() {
        let text = String(
            decoding: ServerEvent.message(ChatMessage(room: "r", offset: 1, id: "i", from: "f", text: "t", ts: "z")).jsonBytes(),
            as: UTF8.self
        )
        #expect(text == #"{"from":"f","id":"i","offset":1,"room":"r","text":"t","ts":"z","type":"message"}"#)
        #expect(String(decoding: ServerEvent.pong(ref: nil).jsonBytes(), as: UTF8.self) == #"{"type":"pong"}"#)
    }

    @Test func errorCodesAreTheStableStrings() {
        #expect(ErrorCode.allCases.map(\.rawValue) == [
            "bad_request", "unknown_type", "hello_required", "not_joined", "invalid_room", "invalid_name", "too_large",
            "rate_limited", "unauthorized", "forbidden", "internal",
        ])
        #expect(CloseCode.allCases.map(\.rawValue) == [1001, 1007, 1008, 1009, 1011, 4008])
    }
}

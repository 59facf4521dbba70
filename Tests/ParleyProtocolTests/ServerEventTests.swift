import Foundation
import ParleyProtocol
import Testing

@Suite struct ServerEventTests {
    @Test func everyEventRoundTripsThroughJSON() throws {
        let message = ChatMessage(
            room: "r",
            offset: 3,
            id: "c",
            from: "Ana",
            fromId: "ana",
            text: "a/b \"q\" \u{7}",
            ts: "2026-11-26T18:00:00.000Z"
        )
        let ana = UserRef(id: "ana", name: "Ana")
        let events: [ServerEvent] = [
            .welcome(ref: "h", session: "s1", user: User(id: "ana", name: "Ana", guest: false), limits: Limits(), expiresAt: nil),
            .welcome(ref: nil, session: "s2", user: .guest(named: "Bo"), limits: Limits(), expiresAt: "2026-12-30T00:00:00.000Z"),
            .joined(
                ref: nil,
                room: "r",
                head: 3,
                members: ["Ana", "Bruno"],
                users: [ana, UserRef(id: "guest:Bruno", name: "Bruno")],
                about: .publicRoom
            ),
            .joined(
                ref: "d",
                room: "dm-1",
                head: 0,
                members: ["Ana"],
                users: [ana],
                about: JoinedRoom(kind: .dm, visibility: .private, peer: UserRef(id: "bea", name: "Bea"))
            ),
            .message(message),
            .ack(ref: "x", room: "r", id: "c", offset: 3, ts: message.ts),
            .history(ref: nil, room: "r", messages: [message]),
            .typing(room: "r", from: ana),
            .presence(room: "r", event: .leave, user: ana),
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

    @Test func identityFieldsAreOnTheWireAsTheContractNamesThem() {
        func json(_ event: ServerEvent) -> String { String(decoding: event.jsonBytes(), as: UTF8.self) }
        let ana = UserRef(id: "ana", name: "Ana")
        #expect(json(.typing(room: "r", from: ana)) == #"{"from":"Ana","fromId":"ana","room":"r","type":"typing"}"#)
        #expect(
            json(.presence(room: "r", event: .join, user: ana)) == #"{"event":"join","room":"r","type":"presence","user":"Ana","userId":"ana"}"#
        )
        #expect(
            json(.joined(ref: nil, room: "r", head: 0, members: ["Ana"], users: [ana], about: .publicRoom))
                == #"{"head":0,"kind":"room","members":["Ana"],"room":"r","type":"joined","users":[{"id":"ana","name":"Ana"}],"visibility":"public"}"#
        )
        #expect(
            json(.welcome(ref: nil, session: "s", user: .guest(named: "Bo"), limits: Limits(), expiresAt: nil)).contains(
                #""user":{"guest":true,"id":"guest:Bo","name":"Bo"}"#
            )
        )
    }

    @Test func aMessageIsOneFlatObjectAndRefIsLeftOutWhenAbsent() {
        let text = String(
            decoding: ServerEvent.message(ChatMessage(room: "r", offset: 1, id: "i", from: "f", fromId: "guest:f", text: "t", ts: "z"))
                .jsonBytes(),
            as: UTF8.self
        )
        #expect(text == #"{"from":"f","fromId":"guest:f","id":"i","offset":1,"room":"r","text":"t","ts":"z","type":"message"}"#)
        #expect(String(decoding: ServerEvent.pong(ref: nil).jsonBytes(), as: UTF8.self) == #"{"type":"pong"}"#)
    }

    @Test func errorCodesAreTheStableStrings() {
        #expect(
            ErrorCode.allCases.map(\.rawValue) == [
                "bad_request", "unknown_type", "hello_required", "not_joined", "invalid_room", "invalid_name", "name_taken",
                "too_large", "rate_limited", "unauthorized", "forbidden", "room_exists", "no_such_user", "not_member", "internal",
            ]
        )
        #expect(CloseCode.allCases.map(\.rawValue) == [1001, 1007, 1008, 1009, 1011, 4001, 4003, 4008])
    }

    @Test func aJoinedWrittenByHandIsWhatJSONEncoderWouldWrite() throws {
        let tricky = [
            "Ana", "quote \" and \\ backslash", "a/b", "line\nbreak\ttab\r\u{7}\u{1F}", "emoji 👩‍💻 and é",
            "\u{2028}separator", #""users":[]"#, #""members":[]"#,
        ]
        let users = tricky.enumerated().map { UserRef(id: "guest:\($0.element)#\($0.offset)", name: $0.element) }
        for ref: Ref? in [nil, Ref(#""users":[] "members":[]"#), "7"] {
            let event = ServerEvent.joined(
                ref: ref,
                room: "hall",
                head: 42,
                members: tricky,
                users: users,
                about: JoinedRoom(kind: .room, visibility: .public, peer: UserRef(id: "p", name: #"p"q"#), memberCount: 1_000)
            )
            let written = event.jsonBytes()
            #expect(try ServerEvent.decode(String(decoding: written, as: UTF8.self)) == event)
            let byEncoder = try JSONSerialization.jsonObject(with: JSONEncoder().encode(event)) as? NSDictionary
            let byHand = try JSONSerialization.jsonObject(with: Data(written)) as? NSDictionary
            #expect(byHand == byEncoder)
        }
    }

    @Test func theEventsWrittenByHandAreWhatJSONEncoderWouldWrite() throws {
        let tricky = [
            "Ana", "", "quote \" and \\ backslash", "a/b", "line\nbreak\ttab\r\u{7}\u{1F}\u{7F}", "emoji 👩‍💻 and é",
            "\u{2028}separator", #"{"type":"ack"}"#,
        ]
        var events: [ServerEvent] = []
        for (index, text) in tricky.enumerated() {
            let user = UserRef(id: "guest:\(text)", name: text)
            for deleted in [false, true] {
                events.append(
                    .message(
                        ChatMessage(
                            room: "room \(text)",
                            offset: Int64(index) * 1_000_000_007,
                            id: text,
                            from: text,
                            fromId: user.id,
                            text: deleted ? "" : text,
                            ts: "2026-11-30T12:00:00.000Z",
                            deleted: deleted
                        )
                    )
                )
            }
            for ref: Ref? in [nil, Ref(text), Ref(number: 12.5)] {
                events.append(.ack(ref: ref, room: text, id: text, offset: Int64.max - Int64(index), ts: "2026-11-30T12:00:00.000Z"))
            }
            events.append(.typing(room: text, from: user))
            events.append(.presence(room: text, event: index.isMultiple(of: 2) ? .join : .leave, user: user))
            events.append(.presenceCount(room: text, count: index * 10_000))
            for ref: Ref? in [nil, Ref(text), Ref(number: 3)] {
                events.append(
                    .welcome(
                        ref: ref,
                        session: text,
                        user: User(id: user.id, name: text, guest: index.isMultiple(of: 2)),
                        limits: Limits(commandsPerSecond: Double(index) + 0.5, presenceListLimit: index),
                        expiresAt: index.isMultiple(of: 3) ? nil : text
                    )
                )
            }
            events.append(
                .joined(
                    ref: Ref(number: 4),
                    room: text,
                    head: 1,
                    members: [text],
                    users: [user],
                    about: JoinedRoom(kind: .dm, visibility: .private, peer: user, memberCount: nil)
                )
            )
        }
        for event in events {
            let written = event.jsonBytes()
            #expect(try ServerEvent.decode(String(decoding: written, as: UTF8.self)) == event)
            let byEncoder = try JSONSerialization.jsonObject(with: JSONEncoder().encode(event)) as? NSDictionary
            let byHand = try JSONSerialization.jsonObject(with: Data(written)) as? NSDictionary
            #expect(byHand == byEncoder, "\(event)")
        }
    }
}

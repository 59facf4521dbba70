import ParleyProtocol
import ParleyServer
import ParleyTesting
import Testing

/// Every error code parley.v1 produces, and each limit: a bad command gets an error and the connection stays.
@Suite struct BadInputTests {
    @Test func everyCommandBeforeHelloKnownOrNotGetsHelloRequired() async throws {
        try await LiveServer.with { server in
            let client = try await TestClient.connect(server.webSocketURL)
            client.send(.join(room: "general", since: nil), ref: "j")
            #expect(try await client.nextEvent() == .error(ref: "j", code: .helloRequired, message: "send hello first"))
            client.send(#"{"type":"dance","ref":"d"}"#)
            #expect(try await client.nextEvent() == .error(ref: "d", code: .helloRequired, message: "send hello first"))
            client.send(.ping, ref: "p")
            #expect(try await client.nextEvent() == .error(ref: "p", code: .helloRequired, message: "send hello first"))
            client.send(#"{"type":"join","room":42,"ref":"malformed"}"#)
            #expect(try await client.nextEvent() == .error(ref: "malformed", code: .helloRequired, message: "send hello first"))
            client.send("not a command")
            guard case .error(nil, .badRequest, _) = try await client.nextEvent() else {
                Issue.record("a frame that is not a command gets bad_request")
                return
            }
            client.send(#"{"type":"hello","name":7,"ref":"h"}"#)
            guard case .error("h", .badRequest, _) = try await client.nextEvent() else {
                Issue.record("a malformed hello gets bad_request")
                return
            }
            try await client.hello("Ana")
            client.send(.ping, ref: "p2")
            #expect(try await client.nextEvent() == .pong(ref: "p2"))
        }
    }

    @Test func malformedCommandsGetBadRequestOrUnknownTypeAndTheConnectionStays() async throws {
        try await LiveServer.with { server in
            let client = try await connectedClient(server, name: "Ana")
            let cases: [(String, ErrorCode, String?)] = [
                ("not json", .badRequest, nil),
                ("[1,2]", .badRequest, nil),
                (#"{"ref":"r1"}"#, .badRequest, "r1"),
                (#"{"type":"dance","ref":"r2"}"#, .unknownType, "r2"),
                (#"{"type":"join","ref":"r3"}"#, .badRequest, "r3"),
                (#"{"type":"join","room":7,"ref":"r4"}"#, .badRequest, "r4"),
                (#"{"type":"join","room":"a","since":-1,"ref":"r5"}"#, .badRequest, "r5"),
                (#"{"type":"join","room":"a","since":1e300,"ref":"r6"}"#, .badRequest, "r6"),
                (#"{"type":"send","room":"a","text":"x","ref":"r7"}"#, .badRequest, "r7"),
                (#"{"type":"history","room":"a","limit":0,"ref":"r8"}"#, .badRequest, "r8"),
                (#"{"type":"hello","name":"Ana","ref":"r9"}"#, .badRequest, "r9"),
            ]
            for (text, code, ref) in cases {
                client.send(text)
                guard case .error(let gotRef, let gotCode, let message) = try await client.nextEvent() else {
                    Issue.record("expected an error for \(text)")
                    continue
                }
                #expect(gotCode == code, "\(text)")
                #expect(gotRef == ref.map { Ref($0) }, "\(text)")
                #expect(!message.isEmpty)
            }
            client.sendBinary([1, 2, 3])
            guard case .error(_, .badRequest, _) = try await client.nextEvent() else {
                Issue.record("expected bad_request for a binary frame")
                return
            }
            client.send(.ping, ref: "still-here")
            #expect(try await client.nextEvent() == .pong(ref: "still-here"))
        }
    }

    @Test func namesAndRoomsAreValidated() async throws {
        try await LiveServer.with { server in
            let client = try await TestClient.connect(server.webSocketURL)
            for name in ["", String(repeating: "n", count: 33), "tab\there", "   "] {
                client.send(.hello(name: name, token: nil), ref: "h")
                guard case .error("h", .invalidName, _) = try await client.nextEvent() else {
                    Issue.record("expected invalid_name for \(name.debugDescription)")
                    continue
                }
            }
            try await client.hello(String(repeating: "é", count: 32))
            for room in ["", "has space", "ünïcode", String(repeating: "r", count: 65)] {
                client.send(.join(room: room, since: nil), ref: "j")
                guard case .error("j", .invalidRoom, _) = try await client.nextEvent() else {
                    Issue.record("expected invalid_room for \(room.debugDescription)")
                    continue
                }
            }
            try await client.join("Room-1_a.b")
        }
    }

    @Test func sendingToARoomNotJoinedGetsNotJoined() async throws {
        try await LiveServer.with { server in
            let client = try await connectedClient(server, name: "Ana")
            for command in [ClientCommand.send(room: "general", text: "x", id: "1"), .typing(room: "general"), .leave(room: "general")] {
                client.send(command, ref: Ref(command.type))
                #expect(try await client.nextEvent() == .error(ref: Ref(command.type), code: .notJoined, message: "join general first"))
            }
        }
    }

    @Test func textOverTheLimitGetsTooLargeAndIsNotStored() async throws {
        try await LiveServer.with(ServerConfiguration(limits: Limits(maxTextBytes: 100))) { server in
            let client = try await connectedClient(server, name: "Ana", joining: ["general"])
            client.send(.send(room: "general", text: String(repeating: "ç", count: 51), id: "big"), ref: "big")
            #expect(try await client.nextEvent() == .error(ref: "big", code: .tooLarge, message: "text is over 100 bytes"))
            #expect(try await sendAndAwaitAck(client, room: "general", text: String(repeating: "c", count: 100), id: "fits") == 1)
        }
    }

    @Test func commandsOverTheRateLimitGetRateLimited() async throws {
        try await LiveServer.with(ServerConfiguration(limits: Limits(commandsPerSecond: 1, commandBurst: 5))) { server in
            let client = try await connectedClient(server, name: "Ana")
            for index in 1...6 { client.send(.ping, ref: Ref("\(index)")) }
            for index in 1...4 { #expect(try await client.nextEvent() == .pong(ref: Ref("\(index)"))) }
            for _ in 5...6 {
                guard case .error(_, .rateLimited, _) = try await client.nextEvent() else {
                    Issue.record("expected rate_limited")
                    return
                }
            }
            try await Task.sleep(for: .milliseconds(1100))
            client.send(.ping, ref: "later")
            #expect(try await client.nextEvent() == .pong(ref: "later"))
        }
    }

    @Test func aFrameOverTheLimitClosesWith1009() async throws {
        try await LiveServer.with(ServerConfiguration(limits: Limits(maxFrameBytes: 4096))) { server in
            let client = try await connectedClient(server, name: "Ana")
            client.send(String(repeating: " ", count: 5000))
            #expect(try await client.closed() == 1009)
        }
    }

    @Test func invalidUTF8ClosesWith1007() async throws {
        try await LiveServer.with { server in
            let client = try await connectedClient(server, name: "Ana")
            client.sendRawText([0x7b, 0xff, 0xfe, 0x7d])
            #expect(try await client.closed() == 1007)
        }
    }

    /// The oversized frame is small enough to arrive whole: a server that closes a socket with unread input sends a
    /// TCP reset, which can destroy the 1009 close frame before the client reads it.
    @Test func oneClientsBadInputDoesNotDisturbAnother() async throws {
        try await LiveServer.with(ServerConfiguration(limits: Limits(maxFrameBytes: 4096))) { server in
            let calm = try await connectedClient(server, name: "calm", joining: ["general"])
            let noisy = try await connectedClient(server, name: "noisy", joining: ["general"])
            _ = try await calm.nextEvent()
            for _ in 1...20 { noisy.send("{{{") }
            noisy.send(String(repeating: "x", count: 5000))
            #expect(try await noisy.closed() == 1009)
            try await sendAndAwaitAck(calm, room: "general", text: "still fine", id: "1")
        }
    }
}

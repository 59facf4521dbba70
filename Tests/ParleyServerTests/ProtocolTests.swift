import ParleyProtocol
import ParleyServer
import ParleyTesting
import Testing

/// Every row of the parley.v1 command table, against a live server over real sockets.
@Suite struct ProtocolTests {
    @Test func helloIsAnsweredWithWelcomeCarryingNameAndLimits() async throws {
        try await LiveServer.with { server in
            let client = try await TestClient.connect(server.webSocketURL)
            let welcome = try await client.hello("Ana Lúcia 🌻")
            guard case .welcome(let ref, let session, let user, let limits, let expiresAt) = welcome else {
                Issue.record("expected welcome, got \(welcome)")
                return
            }
            #expect(ref == "hello")
            #expect(!session.isEmpty)
            #expect(user == User(id: "guest:Ana Lúcia 🌻", name: "Ana Lúcia 🌻", guest: true))
            #expect(limits == Limits())
            #expect(expiresAt == nil)
        }
    }

    @Test func joinAnswersJoinedWithHeadAndMembersThenTheLatestFiftyMessages() async throws {
        try await LiveServer.with { server in
            let writer = try await connectedClient(server, name: "writer", joining: ["general"])
            for index in 1...60 {
                try await sendAndAwaitAck(writer, room: "general", text: "message \(index)", id: "m\(index)")
            }
            let reader = try await connectedClient(server, name: "reader")
            let joined = try await reader.join("general")
            #expect(
                joined
                    == .joined(
                        ref: "join-general",
                        room: "general",
                        head: 60,
                        members: ["reader", "writer"],
                        users: ["reader", "writer"].map(UserRef.guest(named:)),
                        about: .publicRoom
                    )
            )
            let replayed = try await messages(50, from: reader)
            #expect(replayed.map(\.offset) == Array(11...60))
            #expect(replayed.first?.text == "message 11")
            #expect(replayed.allSatisfy { $0.from == "writer" && $0.room == "general" })
            #expect(await reader.receivesNothing(within: .milliseconds(200)))
        }
    }

    @Test func joinSinceReplaysExactlyTheMessagesAfterThatOffset() async throws {
        try await LiveServer.with { server in
            let writer = try await connectedClient(server, name: "writer", joining: ["general"])
            for index in 1...8 {
                try await sendAndAwaitAck(writer, room: "general", text: "message \(index)", id: "m\(index)")
            }
            let reader = try await connectedClient(server, name: "reader")
            let joined = try await reader.join("general", since: 5)
            #expect(
                joined
                    == .joined(
                        ref: "join-general",
                        room: "general",
                        head: 8,
                        members: ["reader", "writer"],
                        users: ["reader", "writer"].map(UserRef.guest(named:)),
                        about: .publicRoom
                    )
            )
            #expect(try await messages(3, from: reader).map(\.offset) == [6, 7, 8])
            try await sendAndAwaitAck(writer, room: "general", text: "live", id: "live")
            #expect(try await messages(1, from: reader).map(\.text) == ["live"])
        }
    }

    @Test func joinSinceBeyondTheHeadReplaysNothingAndMissesNothingLater() async throws {
        try await LiveServer.with { server in
            let writer = try await connectedClient(server, name: "writer", joining: ["general"])
            try await sendAndAwaitAck(writer, room: "general", text: "one", id: "1")
            let reader = try await connectedClient(server, name: "reader")
            let joined = try await reader.join("general", since: 1000)
            #expect(
                joined
                    == .joined(
                        ref: "join-general",
                        room: "general",
                        head: 1,
                        members: ["reader", "writer"],
                        users: ["reader", "writer"].map(UserRef.guest(named:)),
                        about: .publicRoom
                    )
            )
            try await sendAndAwaitAck(writer, room: "general", text: "two", id: "2")
            #expect(try await messages(1, from: reader).map(\.offset) == [2])
        }
    }

    @Test func sendIsAcknowledgedAndReachesEveryoneJoinedIncludingTheSender() async throws {
        try await LiveServer.with { server in
            let ana = try await connectedClient(server, name: "Ana", joining: ["general"])
            let bruno = try await connectedClient(server, name: "Bruno", joining: ["general"])
            let outsider = try await connectedClient(server, name: "Carla", joining: ["other"])
            ana.send(.send(room: "general", text: "olá, Bruno", id: "c-1"), ref: "r1")
            var ack: ServerEvent?
            var own: ChatMessage?
            while ack == nil || own == nil {
                let event = try await ana.nextReply()
                switch event {
                case .ack: ack = event
                case .message(let message): own = message
                default: Issue.record("unexpected \(event)")
                }
            }
            let received = try chatMessage(try await bruno.nextReply())
            #expect(own == received)
            #expect(received.offset == 1 && received.id == "c-1" && received.from == "Ana" && received.text == "olá, Bruno")
            #expect(ack == .ack(ref: "r1", room: "general", id: "c-1", offset: 1, ts: received.ts))
            #expect(received.ts.count == 24 && received.ts.hasSuffix("Z"))
            #expect(await outsider.receivesNothing(within: .milliseconds(200)))
        }
    }

    @Test func historyPagesBackwardsOldestFirstWithoutJoining() async throws {
        try await LiveServer.with(.withoutRateLimit) { server in
            let writer = try await connectedClient(server, name: "writer", joining: ["archive"])
            for index in 1...230 {
                writer.send(.send(room: "archive", text: "n\(index)", id: "\(index)"))
            }
            var acks = 0
            while acks < 230 {
                if case .ack = try await writer.nextEvent() { acks += 1 }
            }
            let reader = try await connectedClient(server, name: "reader")
            reader.send(.history(room: "archive", before: nil, limit: nil), ref: "h1")
            guard case .history(let ref, let room, let newest) = try await reader.nextReply() else {
                Issue.record("expected history")
                return
            }
            #expect(ref == "h1" && room == "archive")
            #expect(newest.map(\.offset) == Array(181...230))
            reader.send(.history(room: "archive", before: 181, limit: 1000))
            guard case .history(_, _, let older) = try await reader.nextReply() else {
                Issue.record("expected history")
                return
            }
            #expect(older.map(\.offset) == Array(1...180))
            reader.send(.history(room: "archive", before: 11, limit: 5))
            #expect(try await reader.nextReply() == .history(ref: nil, room: "archive", messages: older[5..<10].map { $0 }))
            reader.send(.history(room: "empty", before: nil, limit: 10))
            #expect(try await reader.nextReply() == .history(ref: nil, room: "empty", messages: []))
        }
    }

    @Test func historyClampsTheLimitTo200() async throws {
        try await LiveServer.with(.withoutRateLimit) { server in
            let writer = try await connectedClient(server, name: "writer", joining: ["big"])
            for index in 1...250 { writer.send(.send(room: "big", text: "\(index)", id: "\(index)")) }
            var acks = 0
            while acks < 250 {
                if case .ack = try await writer.nextEvent() { acks += 1 }
            }
            writer.send(.history(room: "big", before: nil, limit: 250), ref: "all")
            while true {
                if case .history(_, _, let page) = try await writer.nextEvent() {
                    #expect(page.count == 200)
                    #expect(page.first?.offset == 51)
                    break
                }
            }
        }
    }

    @Test func typingReachesTheOthersButNotTheTypist() async throws {
        try await LiveServer.with { server in
            let ana = try await connectedClient(server, name: "Ana", joining: ["general"])
            let bruno = try await connectedClient(server, name: "Bruno", joining: ["general"])
            #expect(try await ana.nextEvent() == .presence(room: "general", event: .join, user: .guest(named: "Bruno")))
            ana.send(.typing(room: "general"))
            #expect(try await bruno.nextEvent() == .typing(room: "general", from: .guest(named: "Ana")))
            #expect(await ana.receivesNothing(within: .milliseconds(200)))
        }
    }

    @Test func leaveAnswersLeftTellsTheOthersAndStopsDelivery() async throws {
        try await LiveServer.with { server in
            let ana = try await connectedClient(server, name: "Ana", joining: ["general"])
            let bruno = try await connectedClient(server, name: "Bruno", joining: ["general"])
            #expect(try await ana.nextEvent() == .presence(room: "general", event: .join, user: .guest(named: "Bruno")))
            bruno.send(.leave(room: "general"), ref: "bye")
            #expect(try await bruno.nextEvent() == .left(ref: "bye", room: "general"))
            #expect(try await ana.nextEvent() == .presence(room: "general", event: .leave, user: .guest(named: "Bruno")))
            try await sendAndAwaitAck(ana, room: "general", text: "anyone?", id: "1")
            #expect(await bruno.receivesNothing(within: .milliseconds(200)))
            bruno.send(.send(room: "general", text: "x", id: "2"), ref: "late")
            #expect(try await bruno.nextEvent() == .error(ref: "late", code: .notJoined, message: "join general first"))
        }
    }

    @Test func pingIsAnsweredWithPongCarryingTheRef() async throws {
        try await LiveServer.with { server in
            let client = try await connectedClient(server, name: "Ana")
            client.send(.ping, ref: "p-7")
            #expect(try await client.nextEvent() == .pong(ref: "p-7"))
        }
    }

    @Test func twoConnectionsWithOneNameAreOnePersonInPresence() async throws {
        try await LiveServer.with { server in
            let watcher = try await connectedClient(server, name: "watcher", joining: ["general"])
            let laptop = try await connectedClient(server, name: "Ana", joining: ["general"])
            #expect(try await watcher.nextEvent() == .presence(room: "general", event: .join, user: .guest(named: "Ana")))
            let phone = try await connectedClient(server, name: "Ana")
            #expect(
                try await phone.join("general")
                    == .joined(
                        ref: "join-general",
                        room: "general",
                        head: 0,
                        members: ["Ana", "watcher"],
                        users: ["Ana", "watcher"].map(UserRef.guest(named:)),
                        about: .publicRoom
                    )
            )
            laptop.close()
            _ = try await laptop.closed()
            #expect(await watcher.receivesNothing(within: .milliseconds(300)))
            phone.close()
            #expect(try await watcher.nextEvent() == .presence(room: "general", event: .leave, user: .guest(named: "Ana")))
        }
    }
}

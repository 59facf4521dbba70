import Foundation
import ParleyProtocol
import ParleyServer
import ParleyTesting
import Testing

/// Reconnection without loss: resume by offset, idempotent resends, history that survives a restart.
@Suite struct ResumeTests {
    @Test func aClientThatReconnectsWithSinceGetsWhatItMissedOnceAndInOrder() async throws {
        try await LiveServer.with { server in
            let writer = try await connectedClient(server, name: "writer", joining: ["general"])
            let reader = try await connectedClient(server, name: "reader", joining: ["general"])
            for index in 1...3 { try await sendAndAwaitAck(writer, room: "general", text: "\(index)", id: "\(index)") }
            let seen = try await messages(3, from: reader)
            reader.close()
            _ = try await reader.closed()
            for index in 4...7 { try await sendAndAwaitAck(writer, room: "general", text: "\(index)", id: "\(index)") }
            let back = try await connectedClient(server, name: "reader")
            _ = try await back.join("general", since: seen.last!.offset)
            #expect(try await messages(4, from: back).map(\.text) == ["4", "5", "6", "7"])
            try await sendAndAwaitAck(writer, room: "general", text: "8", id: "8")
            #expect(try await messages(1, from: back).map(\.offset) == [8])
            #expect(await back.receivesNothing(within: .milliseconds(200)))
        }
    }

    /// Subscribe, replay, go live: a join in the middle of a stream of sends sees every offset exactly once.
    @Test func joiningDuringAStreamOfSendsHasNoGapAndNoDuplicate() async throws {
        try await LiveServer.with(.withoutRateLimit) { server in
            let writer = try await connectedClient(server, name: "writer", joining: ["busy"])
            let total = 400
            for index in 1...150 { writer.send(.send(room: "busy", text: "\(index)", id: "\(index)")) }
            let joiner = try await connectedClient(server, name: "joiner")
            joiner.send(.join(room: "busy", since: 0))
            for index in 151...total { writer.send(.send(room: "busy", text: "\(index)", id: "\(index)")) }
            var offsets: [Int64] = []
            while offsets.count < total {
                switch try await joiner.nextEvent() {
                case .message(let message): offsets.append(message.offset)
                case .joined, .presence: continue
                case let other: Issue.record("unexpected \(other)")
                }
            }
            #expect(offsets == Array(1...Int64(total)))
            #expect(await joiner.receivesNothing(within: .milliseconds(200)))
        }
    }

    @Test func aResentIdFromAnotherConnectionOfTheSamePersonIsStoredOnce() async throws {
        try await LiveServer.with { server in
            let laptop = try await connectedClient(server, name: "Ana", joining: ["general"])
            let first = try await sendAndAwaitAck(laptop, room: "general", text: "só uma vez", id: "draft-42")
            let phone = try await connectedClient(server, name: "Ana", joining: ["general"])
            _ = try await messages(1, from: phone)
            let second = try await sendAndAwaitAck(phone, room: "general", text: "só uma vez", id: "draft-42")
            #expect(first == second)
            #expect(await laptop.receivesNothing(within: .milliseconds(200)))
            let other = try await connectedClient(server, name: "Bruno", joining: ["general"])
            _ = try await messages(1, from: other)
            let third = try await sendAndAwaitAck(other, room: "general", text: "mesmo id, outra pessoa", id: "draft-42")
            #expect(third == first + 1)
        }
    }

    @Test func historyAndDedupeSurviveARestartOnTheSameFile() async throws {
        let path = try LiveServer.temporaryDirectory().appendingPathComponent("chat.sqlite").path
        let configuration = ServerConfiguration(databasePath: path)
        try await LiveServer.with(configuration) { server in
            let ana = try await connectedClient(server, name: "Ana", joining: ["general"])
            for index in 1...3 { try await sendAndAwaitAck(ana, room: "general", text: "antes \(index)", id: "\(index)") }
        }
        try await LiveServer.with(configuration) { server in
            let ana = try await connectedClient(server, name: "Ana")
            #expect(
                try await ana.join("general")
                    == .joined(
                        ref: "join-general",
                        room: "general",
                        head: 3,
                        members: ["Ana"],
                        users: ["Ana"].map(UserRef.guest(named:)),
                        about: .publicRoom
                    )
            )
            #expect(try await messages(3, from: ana).map(\.text) == ["antes 1", "antes 2", "antes 3"])
            #expect(try await sendAndAwaitAck(ana, room: "general", text: "antes 3", id: "3") == 3)
            #expect(try await sendAndAwaitAck(ana, room: "general", text: "depois", id: "4") == 4)
        }
    }

    @Test func shutdownClosesClientsWith1001() async throws {
        try await LiveServer.with { server in
            let parley = try await connectedClient(server, name: "Ana", joining: ["general"])
            let plain = try await TestClient.connect(server.webSocketURL, subprotocol: nil)
            await server.shutDown()
            #expect(try await parley.closed() == 1001)
            #expect(try await plain.closed() == 1001)
        }
    }
}

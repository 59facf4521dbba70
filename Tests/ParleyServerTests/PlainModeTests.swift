import ParleyCore
import ParleyProtocol
import ParleyServer
import ParleyTesting
import Testing

/// The tutorial's contract: clients that offer no subprotocol chat in `lobby` as plain text.
@Suite struct PlainModeTests {
    /// The tutorial's own test: connect, send "Teste", receive a frame containing "Mensagem recebida: Teste".
    @Test func theTutorialsOwnTestPasses() async throws {
        try await LiveServer.with { server in
            let client = try await TestClient.connect(server.webSocketURL, subprotocol: nil)
            client.send("Teste")
            #expect(try await client.nextText().contains("Mensagem recebida: Teste"))
        }
    }

    @Test func plainClientsReceiveEachOthersMessagesButNoHistoryOnConnect() async throws {
        try await LiveServer.with { server in
            let first = try await TestClient.connect(server.webSocketURL, subprotocol: nil)
            first.send("antes")
            #expect(try await first.nextText() == "Mensagem recebida: antes")
            let second = try await TestClient.connect(server.webSocketURL, subprotocol: nil)
            #expect(await second.receivesNothing(within: .milliseconds(200)))
            second.send("oi")
            #expect(try await first.nextText() == "Mensagem recebida: oi")
            #expect(try await second.nextText() == "Mensagem recebida: oi")
        }
    }

    @Test func plainClientsAreToldWhenAnotherPlainClientDisconnects() async throws {
        try await LiveServer.with { server in
            let staying = try await TestClient.connect(server.webSocketURL, subprotocol: nil)
            let leaving = try await TestClient.connect(server.webSocketURL, subprotocol: nil)
            let modern = try await connectedClient(server, name: "Ana", joining: ["lobby"])
            leaving.close()
            #expect(try await staying.nextText() == "Um cliente desconectou.")
            #expect(await modern.receivesNothing(within: .milliseconds(200)))
        }
    }

    @Test func plainAndParleyClientsShareTheLobbyBothWays() async throws {
        try await LiveServer.with { server in
            let plain = try await TestClient.connect(server.webSocketURL, subprotocol: nil)
            let ana = try await connectedClient(server, name: "Ana", joining: ["lobby"])
            plain.send("vindo do tutorial")
            let stored = try chatMessage(try await ana.nextReply())
            #expect(stored.room == "lobby" && stored.offset == 1 && stored.text == "vindo do tutorial" && stored.from == "guest")
            #expect(try await plain.nextText() == "Mensagem recebida: vindo do tutorial")
            try await sendAndAwaitAck(ana, room: "lobby", text: "e de volta", id: "a1")
            #expect(try await plain.nextText() == "Mensagem recebida: e de volta")
            let late = try await connectedClient(server, name: "late")
            _ = try await late.join("lobby")
            #expect(try await messages(2, from: late).map(\.text) == ["vindo do tutorial", "e de volta"])
        }
    }

    @Test func plainTextOverTheLimitsIsDroppedNotStored() async throws {
        var configuration = ServerConfiguration(limits: Limits(maxTextBytes: 10, commandsPerSecond: 1, commandBurst: 3))
        configuration.plainMode.messagePrefix = "Recebido: "
        try await LiveServer.with(configuration) { server in
            let plain = try await TestClient.connect(server.webSocketURL, subprotocol: nil)
            plain.send(String(repeating: "x", count: 11))
            plain.send("curto")
            #expect(try await plain.nextText() == "Recebido: curto")
            plain.send("rápido")
            plain.send("demais")
            #expect(try await plain.nextText() == "Recebido: rápido")
            #expect(await plain.receivesNothing(within: .milliseconds(300)))
            let reader = try await connectedClient(server, name: "reader")
            reader.send(.history(room: "lobby", before: nil, limit: nil))
            guard case .history(_, _, let stored) = try await reader.nextReply() else {
                Issue.record("expected history")
                return
            }
            #expect(stored.map(\.text) == ["curto", "rápido"])
        }
    }
}

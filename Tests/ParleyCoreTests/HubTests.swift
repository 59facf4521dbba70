import NIOCore
import ParleyCore
import ParleyProtocol
import Testing

@Suite(.timeLimit(.minutes(1))) struct HubTests {
    private func message(_ offset: Int64, room: String = "r", text: String? = nil) -> StoredMessage {
        StoredMessage(
            room: room,
            offset: offset,
            clientID: "c\(offset)",
            senderID: "guest:Ana",
            sender: "Ana",
            text: text ?? "m\(offset)",
            storedAt: 0
        )
    }

    private func events(_ outbox: Outbox) async -> [ServerEvent] {
        guard case .frames(let frames) = await outbox.next() else { return [] }
        return frames.compactMap { try? ServerEvent.decode(Frame.payload(of: $0.bytes)) }
    }

    @Test func liveMembersGetEachMessageOnceInOrder() async {
        let hub = Hub(limits: Limits())
        let connection = hub.connect(mode: .parley)!
        _ = hub.beginJoin("r", connection: connection, user: .guest(named: "Bruno"))
        #expect(hub.finishJoin("r", connection: connection, deliveredThrough: 0) == .live)
        hub.deliver([message(1), message(2)])
        hub.deliver([message(2), message(1)])
        hub.deliver([message(3)])
        #expect(await events(connection.outbox) == [1, 2, 3].map { .message(message($0).chatMessage) })
    }

    @Test func framesArrivingDuringReplayAreHeldAndOnlyNewerOffsetsReleased() async {
        let hub = Hub(limits: Limits())
        let connection = hub.connect(mode: .parley)!
        _ = hub.beginJoin("r", connection: connection, user: .guest(named: "Bruno"))
        hub.deliver([message(4), message(5), message(6)])
        #expect(connection.outbox.push(FrameFormat.webSocket.encode(.pong(ref: nil))))
        #expect(await events(connection.outbox) == [.pong(ref: nil)])
        #expect(hub.finishJoin("r", connection: connection, deliveredThrough: 5) == .live)
        #expect(await events(connection.outbox) == [.message(message(6).chatMessage)])
    }

    @Test func aReplayBufferThatOverflowsAsksForACatchUpFromTheStore() {
        let hub = Hub(limits: Limits(outboxFrames: 3))
        let connection = hub.connect(mode: .parley)!
        _ = hub.beginJoin("r", connection: connection, user: .guest(named: "Bruno"))
        hub.deliver((1...5).map { message($0) })
        #expect(hub.finishJoin("r", connection: connection, deliveredThrough: 0) == .catchUp(after: 0))
        #expect(hub.finishJoin("r", connection: connection, deliveredThrough: 5) == .live)
    }

    @Test func presenceCountsANameOnceAcrossConnections() async {
        let hub = Hub(limits: Limits())
        let watcher = hub.connect(mode: .parley)!
        _ = hub.beginJoin("r", connection: watcher, user: .guest(named: "watcher"))
        _ = hub.finishJoin("r", connection: watcher, deliveredThrough: 0)
        let laptop = hub.connect(mode: .parley)!
        let phone = hub.connect(mode: .parley)!
        #expect(hub.beginJoin("r", connection: laptop, user: .guest(named: "Ana")).users.map(\.name) == ["Ana", "watcher"])
        #expect(hub.beginJoin("r", connection: phone, user: .guest(named: "Ana")).users.map(\.name) == ["Ana", "watcher"])
        #expect(await events(watcher.outbox) == [.presence(room: "r", event: .join, user: .guest(named: "Ana"))])
        hub.disconnect(laptop)
        hub.disconnect(phone)
        #expect(await events(watcher.outbox) == [.presence(room: "r", event: .leave, user: .guest(named: "Ana"))])
    }

    @Test func plainClientsGetThePrefixedTextAndTheDisconnectNotice() async {
        let hub = Hub(limits: Limits())
        let plain = hub.connect(mode: .plain)!
        let other = hub.connect(mode: .plain)!
        hub.deliver([message(1, room: "lobby", text: "Teste"), message(1, room: "elsewhere")])
        hub.disconnect(other)
        #expect(
            await plain.outbox.next()
                == .frames([FrameFormat.webSocket.text("Mensagem recebida: Teste"), FrameFormat.webSocket.text("Um cliente desconectou.")])
        )
    }

    @Test func drainingClosesEveryoneWith1001AndRefusesNewConnections() async {
        let hub = Hub(limits: Limits())
        let connection = hub.connect(mode: .parley)!
        hub.drain()
        #expect(hub.connect(mode: .plain) == nil)
        #expect(await connection.outbox.next() == .close(.goingAway, reason: "server shutting down"))
    }
}

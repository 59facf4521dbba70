import MetricsTestKit
import NIOCore
import ParleyCore
import ParleyProtocol
import Testing

/// The hub's side of a cluster: presence that spans nodes, announcements to the others, catching up.
@Suite(.timeLimit(.minutes(1))) struct HubClusterTests {
    private func events(_ outbox: Outbox) async -> [ServerEvent] {
        guard case .frames(let frames) = await outbox.next() else { return [] }
        return frames.compactMap { try? ServerEvent.decode(Frame.payload(of: $0.bytes)) }
    }

    /// Events whose order does not matter (a snapshot's changes come in dictionary order).
    private func unordered(_ events: [ServerEvent]) -> [String] {
        events.map { "\($0)" }.sorted()
    }

    private func guestID(_ name: String) -> String { UserRef.guest(named: name).id }

    private func presence(_ name: String, _ nodes: Set<String>) -> Hub.RemotePresence { Hub.RemotePresence(name: name, nodes: nodes) }

    private func liveMember(_ hub: Hub, _ name: String, in room: String = "r") -> Connection {
        let connection = hub.connect(mode: .parley)!
        _ = hub.beginJoin(room, connection: connection, user: .guest(named: name))
        _ = hub.finishJoin(room, connection: connection, deliveredThrough: 0)
        return connection
    }

    @Test func membersIncludeNamesPresentOnOtherNodes() {
        let hub = Hub(limits: Limits())
        hub.applyRemotePresence(node: "n2", room: "r", user: .guest(named: "Bea"), present: true)
        let ana = hub.connect(mode: .parley)!
        #expect(hub.beginJoin("r", connection: ana, user: .guest(named: "Ana")).users.map(\.name) == ["Ana", "Bea"])
    }

    @Test func presenceEventsFollowTheWholeCluster() async {
        let hub = Hub(limits: Limits())
        let watcher = liveMember(hub, "watcher")
        hub.applyRemotePresence(node: "n2", room: "r", user: .guest(named: "Bea"), present: true)
        #expect(await events(watcher.outbox) == [.presence(room: "r", event: .join, user: .guest(named: "Bea"))])
        // Bea also on a third node, then on this one: still one person, no new join.
        hub.applyRemotePresence(node: "n3", room: "r", user: .guest(named: "Bea"), present: true)
        let local = liveMember(hub, "Bea")
        hub.applyRemotePresence(node: "n2", room: "r", user: .guest(named: "Bea"), present: false)
        hub.removeRemoteNode("n3")
        hub.disconnect(local)
        #expect(await events(watcher.outbox) == [.presence(room: "r", event: .leave, user: .guest(named: "Bea"))])
    }

    @Test func aNodeThatGoesAwayTakesItsMembersWithIt() async {
        let hub = Hub(limits: Limits())
        let watcher = liveMember(hub, "watcher")
        hub.replaceRemotePresence([
            "r": [guestID("Bea"): presence("Bea", ["n2"]), guestID("Cid"): presence("Cid", ["n2", "n3"])],
            "other": [guestID("Dan"): presence("Dan", ["n2"])],
        ])
        #expect(
            unordered(await events(watcher.outbox))
                == unordered([
                    .presence(room: "r", event: .join, user: .guest(named: "Bea")), .presence(room: "r", event: .join, user: .guest(named: "Cid")),
                ])
        )
        hub.removeRemoteNode("n2")
        #expect(await events(watcher.outbox) == [.presence(room: "r", event: .leave, user: .guest(named: "Bea"))])
        let late = hub.connect(mode: .parley)!
        #expect(hub.beginJoin("r", connection: late, user: .guest(named: "Eva")).users.map(\.name) == ["Cid", "Eva", "watcher"])
    }

    @Test func aSnapshotTellsMembersOnlyWhatChanged() async {
        let hub = Hub(limits: Limits())
        hub.applyRemotePresence(node: "n2", room: "r", user: .guest(named: "Bea"), present: true)
        hub.applyRemotePresence(node: "n2", room: "r", user: .guest(named: "Cid"), present: true)
        let watcher = liveMember(hub, "watcher")
        hub.replaceRemotePresence(["r": [guestID("Bea"): presence("Bea", ["n2"]), guestID("Dan"): presence("Dan", ["n3"])]])
        #expect(
            unordered(await events(watcher.outbox))
                == unordered([
                    .presence(room: "r", event: .leave, user: .guest(named: "Cid")), .presence(room: "r", event: .join, user: .guest(named: "Dan")),
                ])
        )
    }

    @Test func localPresenceChangesAndTypingAreAnnouncedToTheOtherNodes() async {
        let (announcements, queue) = AsyncStream.makeStream(of: Hub.Announcement.self)
        let hub = Hub(limits: Limits(), announcements: queue)
        let laptop = liveMember(hub, "Ana")
        let phone = liveMember(hub, "Ana")
        hub.typing(in: "r", user: .guest(named: "Ana"))
        hub.disconnect(laptop)
        hub.disconnect(phone)
        queue.finish()
        var seen: [Hub.Announcement] = []
        for await announcement in announcements { seen.append(announcement) }
        #expect(
            seen == [
                .presence(room: "r", user: .guest(named: "Ana"), present: true), .typing(room: "r", user: .guest(named: "Ana")),
                .presence(room: "r", user: .guest(named: "Ana"), present: false),
            ]
        )
    }

    @Test func typingFromAnotherNodeReachesEveryoneButThatName() async {
        let hub = Hub(limits: Limits())
        let watcher = liveMember(hub, "watcher")
        let bea = liveMember(hub, "Bea")
        hub.remoteTyping(in: "r", user: .guest(named: "Bea"))
        #expect(await events(watcher.outbox).contains(.typing(room: "r", from: .guest(named: "Bea"))))
        #expect(bea.outbox.push(FrameFormat.webSocket.encode(.pong(ref: nil))))
        #expect(await events(bea.outbox) == [.pong(ref: nil)])
    }

    @Test func catchUpStartsAtTheLeastDeliveredLiveMemberAndReplaysJoinsInProgress() {
        let hub = Hub(limits: Limits())
        let ahead = liveMember(hub, "ahead")
        let behind = liveMember(hub, "behind")
        hub.deliver([StoredMessage(room: "r", offset: 1, clientID: "1", senderID: "guest:x", sender: "x", text: "t", storedAt: 0)])
        _ = hub.leave("r", connection: behind)
        _ = hub.beginJoin("r", connection: behind, user: .guest(named: "behind"))
        _ = hub.finishJoin("r", connection: behind, deliveredThrough: 0)
        let joining = hub.connect(mode: .parley)!
        _ = hub.beginJoin("r", connection: joining, user: .guest(named: "joining"))
        #expect(hub.prepareCatchUp() == ["r": 0])
        #expect(hub.finishJoin("r", connection: joining, deliveredThrough: 7) == .catchUp(after: 7))
        _ = ahead
    }

    @Test func plainClientsStartAtTheKnownHeadOfTheirRoom() async {
        let hub = Hub(limits: Limits())
        hub.advancePlainRoomHead(to: 9)
        let plain = hub.connect(mode: .plain)!
        hub.deliver([StoredMessage(room: "lobby", offset: 9, clientID: "9", senderID: "guest:x", sender: "x", text: "old", storedAt: 0)])
        hub.deliver([StoredMessage(room: "lobby", offset: 10, clientID: "10", senderID: "guest:x", sender: "x", text: "new", storedAt: 0)])
        guard case .frames(let frames) = await plain.outbox.next() else {
            Issue.record("no frames")
            return
        }
        #expect(frames.map { Frame.payload(of: $0.bytes) } == ["Mensagem recebida: new"])
    }

    @Test func aMessageDeliveredAfterAGapInARoomsOffsetsIsCounted() {
        let metrics = TestMetrics()
        let hub = Hub(limits: Limits(), metrics: ParleyMetrics(factory: metrics))
        _ = liveMember(hub, "Ana")
        func message(_ offset: Int64) -> StoredMessage {
            StoredMessage(room: "r", offset: offset, clientID: "\(offset)", senderID: "guest:Bo", sender: "Bo", text: "m", storedAt: 0)
        }
        hub.deliver([message(1), message(2)])
        #expect(metrics.counterTotal(label: "parley_delivery_gaps_total") == 0)
        // Offset 3 never came: Ana will never get it.
        hub.deliver([message(4), message(5), message(4)])
        #expect(metrics.counterTotal(label: "parley_delivery_gaps_total") == 1)
    }
}

import NIOCore
import ParleyCore
import ParleyProtocol
import Testing

/// Rooms above the presence list limit (shared/contracts/large-rooms.md): a page and a count instead of everyone,
/// counts at most once per announcement instead of a frame per join, typing only to the recently active, and small
/// rooms as before.
@Suite(.timeLimit(.minutes(1))) struct LargeRoomTests {
    private let limit = 3

    /// What the outbox holds now (nothing, without waiting, when it is empty).
    private func events(_ outbox: Outbox) -> [ServerEvent] {
        guard case .frames(let frames) = outbox.take(orNotify: NobodyWaiting()) else { return [] }
        return frames.compactMap { try? ServerEvent.decode(Frame.payload(of: $0.bytes)) }
    }

    private func member(_ hub: Hub, _ name: String) -> (Connection, Hub.RoomUsers) {
        let connection = hub.connect(mode: .parley)!
        let users = hub.beginJoin("r", connection: connection, user: .guest(named: name))
        _ = hub.finishJoin("r", connection: connection, deliveredThrough: 0)
        return (connection, users)
    }

    @Test func aRoomPastTheLimitListsAPageWithTheCountAndSendsCountsInsteadOfJoins() {
        let hub = Hub(limits: Limits(presenceListLimit: limit))
        let (first, _) = member(hub, "a")
        for name in ["b", "c"] { _ = member(hub, name) }
        #expect(events(first.outbox).count == 2, "a small room announces each join")
        let (_, fourth) = member(hub, "d")
        #expect(fourth.count == 4)
        #expect(fourth.users.count == limit && fourth.users.contains(.guest(named: "d")))
        for name in ["e", "f"] { _ = member(hub, name) }
        #expect(events(first.outbox).isEmpty, "no join frames above the limit")
        hub.announcePresenceCounts()
        #expect(events(first.outbox) == [.presenceCount(room: "r", count: 6)])
        hub.announcePresenceCounts()
        #expect(events(first.outbox).isEmpty, "nothing when the count did not change")
    }

    @Test func aLargeRoomsPageIsSortedHoldsTheJoinerAndOnlyPeoplePresentAsPeopleComeAndGo() {
        let hub = Hub(limits: Limits(presenceListLimit: limit))
        var connections: [String: Connection] = [:]
        var present: Set<String> = []
        func join(_ name: String) {
            let (connection, users) = member(hub, name)
            connections[name] = connection
            present.insert(name)
            let names = users.users.map(\.name)
            #expect(names == names.sorted(), "sorted by name")
            #expect(names.contains(name), "the joiner is on the page")
            #expect(names.count == min(limit, present.count))
            #expect(Set(names).isSubset(of: present), "only people present: \(names)")
        }
        for name in ["m", "c", "x", "a", "q", "b"] { join(name) }
        // The listed ones leave (a, b, c: the first in order); others take their places on later pages.
        for name in ["a", "b", "c"] {
            hub.disconnect(connections[name]!)
            present.remove(name)
        }
        join("z")
        join("d")
    }

    @Test func aJoinerWhoseJoinedCarriedTheCountGetsNoCountInTheSameSecondAndTheMovedCountAfter() {
        let hub = Hub(limits: Limits(presenceListLimit: limit))
        let (watcher, _) = member(hub, "watcher")
        for name in ["b", "c", "d"] { _ = member(hub, name) }
        hub.announcePresenceCounts()
        #expect(events(watcher.outbox).last == .presenceCount(room: "r", count: 4))
        let (unmoved, joined) = member(hub, "e")
        #expect(joined.count == 5)
        hub.announcePresenceCounts()
        #expect(events(watcher.outbox) == [.presenceCount(room: "r", count: 5)])
        #expect(events(unmoved.outbox).isEmpty, "its joined said 5 within this second")
        hub.announcePresenceCounts()
        #expect(events(unmoved.outbox).isEmpty, "still 5: nothing to tell")

        let (moved, _) = member(hub, "f")
        _ = member(hub, "g")
        hub.announcePresenceCounts()
        #expect(events(moved.outbox).isEmpty, "its joined (6) came within this second")
        #expect(events(watcher.outbox) == [.presenceCount(room: "r", count: 7)])
        hub.announcePresenceCounts()
        #expect(events(moved.outbox) == [.presenceCount(room: "r", count: 7)], "told the count that moved since, a round later")
        #expect(events(watcher.outbox).isEmpty, "nothing new for those told already")
    }

    @Test func aRoomShrinkingBelowTheLimitTellsEvenItsNewestJoinerAtOnce() {
        let hub = Hub(limits: Limits(presenceListLimit: limit))
        let others = ["a", "b", "c"].map { member(hub, $0).0 }
        let (newest, joined) = member(hub, "d")
        #expect(joined.count == 4)
        hub.disconnect(others[0])
        hub.announcePresenceCounts()
        #expect(events(newest.outbox) == [.presenceCount(room: "r", count: 3)], "small again: per-person presence follows")
        hub.disconnect(others[1])
        #expect(events(newest.outbox) == [.presence(room: "r", event: .leave, user: .guest(named: "b"))])
    }

    @Test func shrinkingBackToTheLimitSendsTheCountOnceThenPerPersonPresenceAgain() {
        let hub = Hub(limits: Limits(presenceListLimit: limit))
        let (watcher, _) = member(hub, "watcher")
        let others = ["b", "c", "d"].map { member(hub, $0).0 }
        hub.announcePresenceCounts()
        _ = events(watcher.outbox)
        hub.disconnect(others[2])
        #expect(events(watcher.outbox).isEmpty)
        hub.announcePresenceCounts()
        #expect(events(watcher.outbox) == [.presenceCount(room: "r", count: 3)])
        hub.disconnect(others[1])
        #expect(events(watcher.outbox) == [.presence(room: "r", event: .leave, user: .guest(named: "c"))])
        hub.announcePresenceCounts()
        #expect(events(watcher.outbox).isEmpty)
    }

    @Test func typingInALargeRoomReachesOnlyThoseWhoTypedOrSentLately() {
        let hub = Hub(limits: Limits(presenceListLimit: limit))
        let (talker, _) = member(hub, "talker")
        let (quiet, _) = member(hub, "quiet")
        for name in ["c", "d"] { _ = member(hub, name) }
        let (typist, _) = member(hub, "typist")
        _ = events(talker.outbox)
        _ = events(quiet.outbox)
        hub.deliver([
            StoredMessage(room: "r", offset: 1, clientID: "x", senderID: UserRef.guest(named: "talker").id, sender: "talker", text: "hi", storedAt: 0)
        ])
        _ = events(talker.outbox)
        _ = events(quiet.outbox)
        hub.typing(in: "r", user: .guest(named: "typist"))
        #expect(events(talker.outbox) == [.typing(room: "r", from: .guest(named: "typist"))])
        #expect(events(quiet.outbox).isEmpty)
        #expect(events(typist.outbox).filter { if case .typing = $0 { true } else { false } }.isEmpty)
    }

    @Test func aRoomNewOnThisNodeIsLargeWhenItsJoinersArePresentElsewhere() {
        let hub = Hub(limits: Limits(presenceListLimit: limit))
        for name in ["a", "b", "c", "d"] { hub.applyRemotePresence(node: "n2", room: "r", user: .guest(named: name), present: true) }
        let (typist, joined) = member(hub, "a")
        let (quiet, _) = member(hub, "b")
        #expect(joined.count == 4)
        _ = events(typist.outbox)
        _ = events(quiet.outbox)
        hub.typing(in: "r", user: .guest(named: "a"))
        #expect(events(quiet.outbox).isEmpty, "typing in a large room reaches only the recently active")
    }

    @Test func membersPageEveryoneByIdAcrossNodes() {
        let hub = Hub(limits: Limits(presenceListLimit: limit))
        for name in ["e", "a", "c"] { _ = member(hub, name) }
        hub.applyRemotePresence(node: "n2", room: "r", user: .guest(named: "b"), present: true)
        hub.applyRemotePresence(node: "n2", room: "r", user: .guest(named: "d"), present: true)
        let first = hub.users(in: "r", after: nil, limit: 2)
        #expect(first.users.map(\.name) == ["a", "b"] && first.next == UserRef.guest(named: "b").id)
        let second = hub.users(in: "r", after: first.next, limit: 2)
        #expect(second.users.map(\.name) == ["c", "d"])
        let last = hub.users(in: "r", after: second.next, limit: 2)
        #expect(last.users.map(\.name) == ["e"] && last.next == nil)
    }
}

private final class NobodyWaiting: OutboxReader {
    func outboxHasWork() {}
}

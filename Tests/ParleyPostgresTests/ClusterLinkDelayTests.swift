import Logging
import MetricsTestKit
import ParleyCore
import ParleyProtocol
import ParleyTesting
import PostgresNIO
import Synchronization
import Testing

@testable import ParleyPostgres

/// Issue 17's missing delivery: once, after the LISTEN connection was killed, a node never delivered a message the
/// cluster had acknowledged. Here one node's link is held at one step of reconnecting, listening or catching up at a
/// time while another node writes and the LISTEN connection is killed again and again; its member must get every
/// message once, in order, and the hub must count no gap.
@Suite(.timeLimit(.minutes(1)), .postgresServerAtHand)
struct ClusterLinkDelayTests {
    private static let logger = Logger(label: "test")
    private static let messages = 240
    private static let kills = 3

    @Test(arguments: PostgresClusterLink.ListenStep.allCases)
    func aLinkHeldAtAnyStepOfReconnectingLosesNoDelivery(_ step: PostgresClusterLink.ListenStep) async throws {
        try await TemporaryDatabases.withPostgresDatabase { location in
            let reading = try await PostgresMessageStore(location: location, logger: Self.logger)
            let writing = try await PostgresMessageStore(location: location, logger: Self.logger)
            let metrics = TestMetrics()
            let (announcements, announcementQueue) = AsyncStream.makeStream(of: Hub.Announcement.self)
            let hub = Hub(limits: Limits(), metrics: ParleyMetrics(factory: metrics), announcements: announcementQueue)
            let held = Mutex(false)
            let holds = Mutex(0)
            let link = PostgresClusterLink(store: reading, hub: hub, announcements: announcements, logger: Self.logger) {
                guard $0 == step, held.withLock({ $0 }) else { return }
                holds.withLock { $0 += 1 }
                try? await Task.sleep(for: .milliseconds(150))
            }
            let tasks = [Task { try await reading.run() }, Task { try await writing.run() }, Task { try await link.run() }]
            defer { for task in tasks { task.cancel() } }
            try await Self.waitUntil("the link is connected") { link.isConnected }

            let member = hub.connect(mode: .parley)!
            _ = hub.beginJoin("room", connection: member, user: .guest(named: "reader"))
            _ = hub.finishJoin("room", connection: member, deliveredThrough: 0)
            held.withLock { $0 = true }

            let writer = Task {
                for n in 1...Self.messages {
                    let draft = MessageDraft(room: "room", senderID: "guest:w", sender: "w", clientID: "\(n)", text: "m\(n)")
                    _ = try await writing.append([draft])
                    try await Task.sleep(for: .milliseconds(5))
                }
            }
            var received: [Int64] = []
            var killsLeft = Self.kills
            let deadline = ContinuousClock.now + .seconds(30)
            while received.last != Int64(Self.messages) || killsLeft > 0, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(5))
                received += Self.offsets(in: member.outbox)
                // A kill every 60 messages or so, while the writer runs: each lands in a different step.
                if killsLeft > 0, received.count >= (Self.kills - killsLeft + 1) * Self.messages / (Self.kills + 1) {
                    try await Self.killListenConnections(through: writing)
                    killsLeft -= 1
                }
                try #require(received.count <= Self.messages, "more deliveries than messages: \(received)")
            }
            try await writer.value
            received += Self.offsets(in: member.outbox)
            #expect(received == Array(1...Int64(Self.messages)), "step \(step)")
            #expect(metrics.counterTotal(label: "parley_delivery_gaps_total") == 0)
            #expect(killsLeft == 0)
            #expect(holds.withLock { $0 } > 0, "the link never reached \(step) while held")
        }
    }

    /// The offsets of the messages waiting in `outbox`, taken from it.
    private static func offsets(in outbox: Outbox) -> [Int64] {
        guard case .frames(let frames) = outbox.take(orNotify: NobodyWaiting()) else { return [] }
        return frames.compactMap { frame in
            guard case .message(let message) = try? ServerEvent.decode(Frame.payload(of: frame.bytes)) else { return nil }
            return message.offset
        }
    }

    private static func killListenConnections(through store: PostgresMessageStore) async throws {
        try await store.client.query(
            """
            SELECT pg_terminate_backend(pid) FROM pg_stat_activity
            WHERE application_name = 'parley listen' AND datname = current_database()
            """
        ).drain()
    }

    private static func waitUntil(_ what: String, _ condition: () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(20)
        while try await !condition() {
            guard ContinuousClock.now < deadline else { throw WaitTimedOut(what: what) }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    private struct WaitTimedOut: Error {
        let what: String
    }
}

private final class NobodyWaiting: OutboxReader {
    func outboxHasWork() {}
}

import Logging
import ParleyCore
import ParleyProtocol
import ParleyTesting
import PostgresNIO
import Testing

@testable import ParleyPostgres

/// `parley_append` on a real server: the same outcomes as ``OffsetAssignment`` (which the other stores use), the
/// notifications every node reads, and no answer for a batch whose commit fails.
@Suite(.timeLimit(.minutes(1)), .postgresServerAtHand)
struct PostgresAppendProcedureTests {
    private static let logger = Logger(label: "test")
    private static let now: Int64 = 1_700_000_000_000

    /// Runs `body` with a store on a new database (its writer running) and the database's location.
    private static func withStore<Result>(_ body: (PostgresMessageStore, PostgresLocation) async throws -> Result) async throws -> Result {
        try await TemporaryDatabases.withPostgresDatabase { location in
            let store = try await PostgresMessageStore(location: location, logger: logger, now: { now })
            let writer = Task { try await store.run() }
            defer { writer.cancel() }
            let result = try await body(store, location)
            writer.cancel()
            try await writer.value
            return result
        }
    }

    /// Random batches of sends, resends and deletions (of stored, new, missing, deleted and deletion entries, some
    /// twice in a batch) give the outcomes ``OffsetAssignment`` gives, batch after batch.
    @Test func randomBatchesGetTheOutcomesOfTheRuleEveryStoreFollows() async throws {
        try await Self.withStore { store, _ in
            let reference = InMemoryMessageStore(now: { Self.now }, onCommit: { _ in })
            var generator = SplitMix64(seed: 17)
            var heads: [String: Int64] = [:]
            for batchNumber in 0..<200 {
                var batch: [MessageDraft] = []
                for _ in 0..<Int.random(in: 1...12, using: &generator) {
                    let room = ["a", "b", "c"].randomElement(using: &generator)!
                    let sender = ["Ana", "Bea"].randomElement(using: &generator)!
                    // Few ids, so that resends (across batches and within one) are common.
                    let id = "id\(Int.random(in: 0..<25, using: &generator))"
                    var draft = MessageDraft(room: room, senderID: "guest:" + sender, sender: sender, clientID: id, text: "t\(batchNumber)")
                    if Int.random(in: 0..<3, using: &generator) == 0 {
                        // Near the head, up to two past it: the target may be stored, deleted, a deletion, missing, or
                        // deleted by someone else earlier in the batch.
                        let head = heads[room] ?? 0
                        draft.target = Int64.random(in: max(1, head - 4)...(head + 2), using: &generator)
                        draft.clientID = "delete:\(draft.target!)"
                        draft.text = ""
                    }
                    batch.append(draft)
                    if draft.target != nil, Bool.random(using: &generator) {
                        // The same message deleted by someone else in the same batch.
                        let other = sender == "Ana" ? "Bea" : "Ana"
                        batch.append(MessageDraft.deletion(of: draft.target!, in: room, by: .guest(named: other)))
                    }
                }
                let expected = try await reference.append(batch)
                let outcomes = try await store.append(batch)
                #expect(outcomes == expected, "batch \(batchNumber): \(batch)")
                for outcome in expected where outcome.isNew { heads[outcome.message.room] = outcome.message.offset }
                if outcomes != expected { return }
            }
            for room in ["a", "b", "c"] {
                #expect(try await store.head(of: room) == (heads[room] ?? 0))
                let stored = try await store.messages(in: room, after: 0, limit: 1_000)
                #expect(stored == (try await reference.messages(in: room, after: 0, limit: 1_000)))
            }
        }
    }

    @Test func smallMessagesShareANotificationAndArriveWhole() async throws {
        try await Self.withStore { store, location in
            let drafts = (1...5).map { MessageDraft(room: "r", senderID: "guest:Ana", sender: "Ana", clientID: "id\($0)", text: "olá \($0)") }
            let payloads = try await Self.notifications(on: location, carrying: 5) { _ = try await store.append(drafts) }
            #expect(payloads.count == 1)
            guard case .messages(let notes)? = ClusterNotification(payload: payloads[0]) else {
                Issue.record("not messages: \(payloads)")
                return
            }
            #expect(notes.compactMap(\.message) == drafts.enumerated().map { $1.stored(at: Int64($0 + 1), storedAt: Self.now) })
        }
    }

    @Test func notificationsStayUnderNotifysLimitInOffsetOrderAndATooLargeMessageTravelsByReference() async throws {
        try await Self.withStore { store, location in
            let first = (1...40).map {
                MessageDraft(room: "r", senderID: "guest:Ana", sender: "Ana", clientID: "id\($0)", text: String(repeating: "é", count: 900))
            }
            let second = [
                MessageDraft(room: "r", senderID: "guest:Ana", sender: "Ana", clientID: "big", text: String(repeating: "x", count: 16_384)),
                MessageDraft.deletion(of: 2, in: "r", by: .guest(named: "Ana")),
            ]
            let payloads = try await Self.notifications(on: location, carrying: 42) {
                _ = try await store.append(first)
                _ = try await store.append(second)
            }
            #expect(payloads.allSatisfy { $0.utf8.count <= ClusterNotification.maxPayloadBytes })
            let notes = payloads.flatMap { payload -> [ClusterNotification.MessageNote] in
                guard case .messages(let notes)? = ClusterNotification(payload: payload) else { return [] }
                return notes
            }
            #expect(payloads.count > 2)
            #expect(notes.map(\.offset) == Array(1...42))
            guard notes.count == 42 else { return }
            #expect(notes[40].message == nil && notes[40].room == "r")
            #expect(notes[41].message?.target == 2)
            #expect(notes[0].message?.target == nil)
        }
    }

    /// The procedure commits before it answers: a commit refused (here by a deferred trigger; in life a full NOTIFY
    /// queue) is an error of the append, nothing is stored, and the next batch commits.
    @Test func aBatchWhoseCommitFailsIsAnErrorAndLeavesNothing() async throws {
        try await Self.withStore { store, location in
            try await TemporaryDatabases.execute(
                """
                CREATE FUNCTION refuse_at_commit() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN IF NEW.text = 'refused at commit' THEN RAISE EXCEPTION 'refused at commit'; END IF; RETURN NEW; END $$
                """,
                on: location
            )
            try await TemporaryDatabases.execute(
                """
                CREATE CONSTRAINT TRIGGER refuse_at_commit AFTER INSERT ON parley_messages
                DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION refuse_at_commit()
                """,
                on: location
            )
            let refused = MessageDraft(room: "r", senderID: "guest:Ana", sender: "Ana", clientID: "1", text: "refused at commit")
            await #expect(throws: StoreError.self) { _ = try await store.append([refused]) }
            #expect(try await store.head(of: "r") == 0)
            let next = try await store.append([MessageDraft(room: "r", senderID: "guest:Ana", sender: "Ana", clientID: "2", text: "fine")])
            #expect(next.map(\.message.offset) == [1])
            #expect(try await store.messages(in: "r", after: 0, limit: 10).map(\.clientID) == ["2"])
        }
    }

    /// Listens on the cluster's channel, runs `body`, and returns the payloads that arrive until they carry `count`
    /// messages.
    private static func notifications(
        on location: PostgresLocation,
        carrying count: Int,
        during body: () async throws -> Void
    ) async throws -> [String] {
        let connection = try await PostgresConnection.connect(configuration: try location.connectionConfiguration(), id: 9, logger: logger)
        do {
            let stream = try await connection.listen(ClusterNotification.channel)
            try await body()
            var payloads: [String] = []
            var carried = 0
            for try await notification in stream {
                payloads.append(notification.payload)
                if case .messages(let notes)? = ClusterNotification(payload: notification.payload) { carried += notes.count }
                if carried >= count { break }
            }
            try await connection.close()
            return payloads
        } catch {
            try? await connection.close()
            throw error
        }
    }
}

/// A small seeded generator, so that a failing random batch comes back the same on the next run.
private struct SplitMix64: RandomNumberGenerator {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

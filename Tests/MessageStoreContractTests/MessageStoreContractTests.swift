import Logging
import ParleyCore
import ParleyPostgres
import ParleySQLite
import ParleyTesting
import ServiceLifecycle
import Testing

/// A kind of ``MessageStore``, made fresh for each test: in memory, a SQLite file, a PostgreSQL database.
enum StoreKind: String, CaseIterable, CustomTestStringConvertible {
    case memory, sqlite, postgres

    /// The kinds this machine can run: PostgreSQL only where scripts/test.sh has started a server.
    static var available: [StoreKind] {
        TemporaryDatabases.postgresServer == nil ? [.memory, .sqlite] : allCases
    }

    var testDescription: String { rawValue }

    /// The time every store is given, so stored messages compare equal across kinds.
    static let storedAt: Int64 = 1_700_000_000_000

    /// Runs `body` with a new, empty store of this kind, its writer running; then stops it.
    func withStore<Result>(_ body: (any MessageStore) async throws -> Result) async throws -> Result {
        let now: @Sendable () -> Int64 = { Self.storedAt }
        switch self {
        case .memory:
            return try await Self.running(InMemoryMessageStore(now: now, onCommit: { _ in }), body)
        case .sqlite:
            let store = try SQLiteMessageStore(path: try TemporaryDatabases.sqlitePath(), now: now, onCommit: { _ in })
            return try await Self.running(store, body)
        case .postgres:
            return try await TemporaryDatabases.withPostgresDatabase { location in
                let store = try await PostgresMessageStore(location: location, logger: Logger(label: "test"), now: now)
                return try await Self.running(store, body)
            }
        }
    }

    private static func running<Result>(
        _ store: any MessageStore,
        _ body: (any MessageStore) async throws -> Result
    ) async throws -> Result {
        let writer = Task { try await store.run() }
        let result: Swift.Result<Result, any Error>
        do {
            result = .success(try await body(store))
        } catch {
            result = .failure(error)
        }
        writer.cancel()
        if case .failure(let error) = await writer.result, !(error is CancellationError) { throw error }
        return try result.get()
    }
}

/// What every ``MessageStore`` promises, checked on each kind with the same tests: per-room offsets from 1 without
/// gaps in the order of the drafts, one message per (room, sender's user id, client id) however often it is resent,
/// history read both ways.
@Suite(.timeLimit(.minutes(1))) struct MessageStoreContractTests {
    private func draft(_ room: String, _ id: String, sender: String = "Ana", text: String? = nil) -> MessageDraft {
        MessageDraft(room: room, senderID: "guest:" + sender, sender: sender, clientID: id, text: text ?? "text \(id)")
    }

    @Test(arguments: StoreKind.available)
    func offsetsArePerRoomFromOneWithoutGapsInTheOrderOfTheDrafts(kind: StoreKind) async throws {
        try await kind.withStore { store in
            #expect(try await store.head(of: "a") == 0)
            let first = try await store.append([draft("a", "1"), draft("b", "1"), draft("a", "2")])
            let second = try await store.append([draft("a", "3"), draft("b", "2")])
            #expect((first + second).map(\.message.offset) == [1, 1, 2, 3, 2])
            #expect((first + second).allSatisfy { $0.isNew })
            #expect(try await store.head(of: "a") == 3)
            #expect(try await store.head(of: "b") == 2)
        }
    }

    @Test(arguments: StoreKind.available)
    func appendsQueuedOneAfterAnotherWithoutWaitingAreStoredInThatOrder(kind: StoreKind) async throws {
        try await kind.withStore { store in
            let offsets = try await withThrowingTaskGroup(of: (Int, Int64).self) { group in
                // Queued from one thread, in a row, as a session queues its client's sends.
                let answers = (1...50).map { index in
                    let (answered, answer) = AsyncThrowingStream.makeStream(of: (Int, Int64).self)
                    store.append([draft("a", "\(index)")]) { result in
                        answer.yield(with: result.map { (index, $0[0].message.offset) })
                        answer.finish()
                    }
                    return answered
                }
                for answered in answers {
                    group.addTask {
                        for try await pair in answered { return pair }
                        throw CancellationError()
                    }
                }
                return try await group.reduce(into: [:]) { $0[$1.0] = $1.1 }
            }
            #expect((1...50).map { offsets[$0] } == (1...50).map { Int64($0) })
        }
    }

    @Test(arguments: StoreKind.available)
    func aJoinReadsTheHeadWithTheLatestMessagesOldestFirst(kind: StoreKind) async throws {
        try await kind.withStore { store in
            #expect(try await store.head(of: "a", withLatest: 3) == (0, []))
            _ = try await store.append((1...5).map { draft("a", "\($0)") } + [draft("b", "1")])
            let (head, latest) = try await store.head(of: "a", withLatest: 3)
            #expect(head == 5 && latest.map(\.offset) == [3, 4, 5] && latest.allSatisfy { $0.room == "a" })
            let (all, everything) = try await store.head(of: "a", withLatest: 50)
            #expect(all == 5 && everything.map(\.text) == (1...5).map { "text \($0)" })
            #expect(try await store.head(of: "a", withLatest: 0) == (5, []))
        }
    }

    @Test(arguments: StoreKind.available)
    func aResendGetsTheOriginalBackAndStoresNothing(kind: StoreKind) async throws {
        try await kind.withStore { store in
            let original = try await store.append([draft("a", "x")])[0].message
            // Within one batch, across batches, and with other text: the first message under the key stands.
            let again = try await store.append([draft("a", "x", text: "changed"), draft("a", "y"), draft("a", "y")])
            #expect(again[0] == AppendOutcome(message: original, isNew: false))
            #expect(again[1].isNew && again[1].message.offset == 2)
            #expect(again[2] == AppendOutcome(message: again[1].message, isNew: false))
            #expect(try await store.head(of: "a") == 2)
            #expect(try await store.messages(in: "a", after: 0, limit: 10).map(\.text) == ["text x", "text y"])
        }
    }

    @Test(arguments: StoreKind.available)
    func theSameIdFromAnotherSenderOrInAnotherRoomIsAnotherMessage(kind: StoreKind) async throws {
        try await kind.withStore { store in
            let outcomes = try await store.append([draft("a", "x"), draft("a", "x", sender: "Bea"), draft("b", "x")])
            #expect(outcomes.map(\.isNew) == [true, true, true])
            #expect(outcomes.map(\.message.offset) == [1, 2, 1])
        }
    }

    @Test(arguments: StoreKind.available)
    func historyReadsAfterAndBeforeAnOffsetOldestFirst(kind: StoreKind) async throws {
        try await kind.withStore { store in
            _ = try await store.append((1...10).map { draft("h", "\($0)") })
            #expect(try await store.messages(in: "h", after: 7, limit: 50).map(\.offset) == [8, 9, 10])
            #expect(try await store.messages(in: "h", after: 2, limit: 2).map(\.offset) == [3, 4])
            #expect(try await store.messages(in: "h", before: nil, limit: 3).map(\.offset) == [8, 9, 10])
            #expect(try await store.messages(in: "h", before: 4, limit: 50).map(\.offset) == [1, 2, 3])
            #expect(try await store.messages(in: "h", after: 10, limit: 50).isEmpty)
            #expect(try await store.messages(in: "nothing", before: nil, limit: 50).isEmpty)
            let first = try await store.messages(in: "h", after: 0, limit: 1)[0]
            let expected = StoredMessage(
                room: "h",
                offset: 1,
                clientID: "1",
                senderID: "guest:Ana",
                sender: "Ana",
                text: "text 1",
                storedAt: StoreKind.storedAt
            )
            #expect(first == expected)
        }
    }

    @Test(arguments: StoreKind.available)
    func concurrentSendersGetGaplessOffsetsEachInTheOrderItSent(kind: StoreKind) async throws {
        try await kind.withStore { store in
            let senders = 20
            let perSender = 10
            try await withThrowingTaskGroup(of: Void.self) { group in
                for sender in 0..<senders {
                    group.addTask {
                        for index in 0..<perSender {
                            _ = try await store.append([draft("busy", "\(index)", sender: "s\(sender)")])
                        }
                    }
                }
                try await group.waitForAll()
            }
            let stored = try await store.messages(in: "busy", after: 0, limit: senders * perSender + 1)
            #expect(stored.map(\.offset) == Array(1...Int64(senders * perSender)))
            for sender in 0..<senders {
                let own = stored.filter { $0.sender == "s\(sender)" }.map(\.clientID)
                #expect(own == (0..<perSender).map(String.init))
            }
        }
    }

    @Test(arguments: StoreKind.available)
    func aRunningStoreIsReachable(kind: StoreKind) async throws {
        try await kind.withStore { store in
            try await store.checkReachable()
        }
    }
}

import Foundation
import GRDB
import ParleyCore
import ParleySQLite
import ParleyTesting
import Synchronization
import Testing

/// What only the embedded store does, on real files in a temporary folder: what every store does is in
/// MessageStoreContractTests.
@Suite(.timeLimit(.minutes(1))) struct SQLiteMessageStoreTests {
    /// Collects what the store reports as committed.
    final class Commits: Sendable {
        private let batches = Mutex<[[StoredMessage]]>([])
        func record(_ batch: [StoredMessage]) { batches.withLock { $0.append(batch) } }
        var all: [[StoredMessage]] { batches.withLock { $0 } }
    }

    /// Opens the store at `path`, runs its writer for the duration of `body`, then stops it and closes the file.
    private static func withStore<Result>(
        at path: String,
        commits: Commits = Commits(),
        _ body: (SQLiteMessageStore) async throws -> Result
    ) async throws -> Result {
        let store = try SQLiteMessageStore(path: path, now: { 1_700_000_000_000 }, onCommit: { commits.record($0) })
        let writer = Task { try await store.run() }
        defer { writer.cancel() }
        let result = try await body(store)
        writer.cancel()
        try await writer.value
        return result
    }

    private func draft(_ room: String, _ id: String, sender: String = "Ana") -> MessageDraft {
        MessageDraft(room: room, senderID: "guest:" + sender, sender: sender, clientID: id, text: "text \(id)")
    }

    @Test func aResentIdReturnsTheOriginalAndStoresNothingEvenAfterReopening() async throws {
        let path = try TemporaryDatabases.sqlitePath()
        let first = try await Self.withStore(at: path) { store in try await store.append([draft("a", "x")]) }
        let commits = Commits()
        try await Self.withStore(at: path, commits: commits) { store in
            let again = try await store.append([draft("a", "x"), draft("a", "x", sender: "Bruno"), draft("a", "x")])
            #expect(again[0] == AppendOutcome(message: first[0].message, isNew: false))
            #expect(again[1].isNew && again[1].message.offset == 2)
            #expect(again[2] == AppendOutcome(message: first[0].message, isNew: false))
            #expect(try await store.head(of: "a") == 2)
        }
        #expect(commits.all.flatMap { $0 }.map(\.sender) == ["Bruno"])
    }

    @Test func wakeUpsAskedForDuringACommitsFanOutWaitUntilItsCallersAreAnswered() async throws {
        let wakeUps = DeferredWakeUps()
        let events = Mutex<[String]>([])
        let (woken, wake) = AsyncStream.makeStream(of: Void.self)
        let store = try SQLiteMessageStore(
            path: try TemporaryDatabases.sqlitePath(),
            wakeUps: wakeUps,
            onCommit: { _ in
                wakeUps.wake {
                    events.withLock { $0.append("event loop woken") }
                    wake.finish()
                }
            }
        )
        let writer = Task { try await store.run() }
        defer { writer.cancel() }
        store.append([draft("a", "1")]) { _ in events.withLock { $0.append("sender answered") } }
        for await _ in woken {}
        #expect(events.withLock { $0 } == ["sender answered", "event loop woken"], "one wake-up, with the ack already queued")
    }

    @Test func aCommitThatFailsInsideItsTransactionLeavesNothingAndTheNextOneCommits() async throws {
        let path = try TemporaryDatabases.sqlitePath()
        _ = try await Self.withStore(at: path) { store in try await store.append([draft("a", "1")]) }
        // Another connection makes inserting one text fail half-way through a batch.
        try await DatabaseQueue(path: path).write { db in
            try db.execute(
                sql: "CREATE TRIGGER refuse_boom BEFORE INSERT ON messages WHEN NEW.text = 'text boom' BEGIN SELECT RAISE(ABORT, 'boom'); END"
            )
        }
        let commits = Commits()
        try await Self.withStore(at: path, commits: commits) { store in
            await #expect(throws: (any Error).self) { try await store.append([draft("a", "2"), draft("a", "boom")]) }
            #expect(try await store.head(of: "a") == 1, "the batch was rolled back whole")
            let next = try await store.append([draft("a", "3")])
            #expect(next[0].isNew && next[0].message.offset == 2)
        }
        #expect(commits.all.flatMap { $0 }.map(\.clientID) == ["3"])
    }

    @Test func concurrentSendersShareCommits() async throws {
        let commits = Commits()
        try await Self.withStore(at: try TemporaryDatabases.sqlitePath(), commits: commits) { store in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for sender in 0..<50 {
                    group.addTask {
                        for index in 0..<20 {
                            _ = try await store.append([
                                MessageDraft(room: "busy", senderID: "guest:s\(sender)", sender: "s\(sender)", clientID: "\(index)", text: "t")
                            ])
                        }
                    }
                }
                try await group.waitForAll()
            }
            let stored = try await store.messages(in: "busy", after: 0, limit: 2000)
            #expect(stored.map(\.offset) == Array(1...1000))
        }
        let batches = commits.all
        #expect(batches.flatMap { $0 }.map(\.offset) == Array(1...1000))
        #expect(batches.count < 1000, "group commit: \(batches.count) transactions for 1000 appends")
    }

    @Test func anAcknowledgedMessageIsVisibleToAnotherConnectionAtOnce() async throws {
        let path = try TemporaryDatabases.sqlitePath()
        try await Self.withStore(at: path) { store in
            _ = try await store.append([draft("a", "1")])
            let other = try DatabaseQueue(path: path)
            let count = try await other.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM messages") }
            #expect(count == 1)
            try other.close()
        }
    }

    /// GRDB's pool sets `synchronous = NORMAL` when it turns WAL on, after the connection's own set-up: with it a
    /// commit is written but not synced, and a power cut can lose acknowledged messages.
    @Test func theWriterSyncsEveryCommitBeforeItsAck() async throws {
        let path = try TemporaryDatabases.sqlitePath()
        for _ in 0..<2 {
            try await Self.withStore(at: path) { store in
                _ = try await store.append([draft("a", UUID().uuidString)])
                #expect(try store.writerSynchronousLevel() == 2)
            }
        }
    }

    @Test func underContinuousWritesTheLogStartsOverAndStaysShort() async throws {
        let path = try TemporaryDatabases.sqlitePath()
        let text = String(repeating: "x", count: 4_096)
        try await Self.withStore(at: path) { store in
            for batch in 0..<60 {
                _ = try await store.append(
                    (0..<100).map { MessageDraft(room: "a", senderID: "guest:Ana", sender: "Ana", clientID: "\(batch)-\($0)", text: text) }
                )
            }
            let log = try FileManager.default.attributesOfItem(atPath: path + "-wal")[.size] as! Int
            #expect(log < 16_000_000, "6,000 messages of 4 KB (about 32 MB of log without checkpoints); the log holds \(log) bytes")
            #expect(try await store.head(of: "a") == 6_000)
        }
    }

    @Test func theSchemaIsVersionedAndDedupeIsAConstraint() async throws {
        let path = try TemporaryDatabases.sqlitePath()
        try await Self.withStore(at: path) { _ in }
        let database = try DatabaseQueue(path: path)
        let migrations = try await database.read { db in try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations") }
        #expect(migrations == ["v1: messages", "v2: health probe", "v3: sender ids", "v4: accounts", "v5: rooms and moderation", "v6: api keys"])
        let journal = try await database.read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") }
        #expect(journal == "wal")
        let insert = "INSERT INTO messages (room, room_offset, sender_id, sender, client_id, text, stored_at) VALUES"
        try await database.write { db in
            try db.execute(sql: "\(insert) ('a', 1, 'ana', 'Ana', 'x', 't', 0)")
            // The same client id from another user (even one with the same display name) is another message.
            try db.execute(sql: "\(insert) ('a', 2, 'guest:Ana', 'Ana', 'x', 't', 0)")
        }
        await #expect(throws: DatabaseError.self) {
            try await database.write { db in try db.execute(sql: "\(insert) ('a', 3, 'ana', 'Ana', 'x', 't', 0)") }
        }
        try database.close()
    }

    @Test func aDatabaseFromBeforeUsersKeepsItsHistoryWithGuestSenderIDs() async throws {
        let path = try TemporaryDatabases.sqlitePath()
        let old = try DatabaseQueue(path: path)
        try await old.write { db in
            try db.execute(
                sql: """
                    CREATE TABLE messages (
                        room TEXT NOT NULL, room_offset INTEGER NOT NULL CHECK (room_offset >= 1), sender TEXT NOT NULL,
                        client_id TEXT NOT NULL, text TEXT NOT NULL, stored_at INTEGER NOT NULL,
                        PRIMARY KEY (room, room_offset), UNIQUE (room, sender, client_id)
                    ) WITHOUT ROWID;
                    CREATE TABLE grdb_migrations (identifier TEXT NOT NULL PRIMARY KEY);
                    INSERT INTO grdb_migrations VALUES ('v1: messages');
                    INSERT INTO messages VALUES ('a', 1, 'Ana', 'x', 'first', 0), ('a', 2, 'Bruno', 'x', 'second', 0);
                    """
            )
        }
        try old.close()
        try await Self.withStore(at: path) { store in
            let kept = try await store.messages(in: "a", after: 0, limit: 10)
            #expect(kept.map(\.senderID) == ["guest:Ana", "guest:Bruno"])
            #expect(kept.map(\.text) == ["first", "second"])
            let resent = try await store.append([draft("a", "x")])
            #expect(resent[0] == AppendOutcome(message: kept[0], isNew: false))
        }
    }

    @Test func aFileThatCannotBeOpenedIsNamedInTheError() throws {
        let path = "/nonexistent-folder-\(UUID().uuidString)/history.sqlite"
        do {
            _ = try SQLiteMessageStore(path: path, onCommit: { _ in })
            Issue.record("opening \(path) should fail")
        } catch {
            #expect("\(error)".contains(path))
        }
    }
}

/// When the log is copied into the database file: in the background from 1,000 frames, finished by the writer when a
/// pass left little, inline only past 10,000.
@Suite struct CheckpointScheduleTests {
    @Test func aLongLogStartsABackgroundPassAndOnlyOneAtATime() {
        var schedule = CheckpointSchedule()
        let step1 = schedule.committed(logFrames: 999, passRunning: false)
        #expect(step1 == .none)
        let step2 = schedule.committed(logFrames: 1_000, passRunning: false)
        #expect(step2 == .startPass(generation: 0))
        let step3 = schedule.committed(logFrames: 1_200, passRunning: true)
        #expect(step3 == .none)
    }

    @Test func aPassThatLeftLittleIsFinishedByTheWriterOnce() {
        var schedule = CheckpointSchedule()
        _ = schedule.committed(logFrames: 1_000, passRunning: false)
        schedule.passCopied(1_000, generation: 0)
        let finish10 = schedule.takeFinish()
        #expect(!finish10, "nothing committed since the pass")
        let step4 = schedule.committed(logFrames: 1_000 + CheckpointSchedule.finishWithin, passRunning: false)
        #expect(step4 == .none)
        let finish11 = schedule.takeFinish()
        #expect(finish11)
        let finish12 = schedule.takeFinish()
        #expect(!finish12, "once")
    }

    @Test func aPassThatLeftTooMuchIsFollowedByAnother() {
        var schedule = CheckpointSchedule()
        _ = schedule.committed(logFrames: 1_000, passRunning: false)
        schedule.passCopied(1_000, generation: 0)
        let step5 = schedule.committed(logFrames: 2_000, passRunning: false)
        #expect(step5 == .startPass(generation: 0))
        let finish13 = schedule.takeFinish()
        #expect(!finish13)
    }

    @Test func aLogThatStartedOverForgetsTheOldPasses() {
        var schedule = CheckpointSchedule()
        _ = schedule.committed(logFrames: 1_500, passRunning: false)
        let step6 = schedule.committed(logFrames: 40, passRunning: true)
        #expect(step6 == .none)
        #expect(schedule.generation == 1)
        schedule.passCopied(1_500, generation: 0)
        let step7 = schedule.committed(logFrames: 60, passRunning: false)
        #expect(step7 == .none)
        let finish14 = schedule.takeFinish()
        #expect(!finish14, "the pass copied the previous log, not this one")
    }

    @Test func aLogTheBackgroundCannotKeepUpWithIsCopiedInline() {
        var schedule = CheckpointSchedule()
        _ = schedule.committed(logFrames: 1_000, passRunning: false)
        let step8 = schedule.committed(logFrames: CheckpointSchedule.inlineAt - 1, passRunning: true)
        #expect(step8 == .none)
        let step9 = schedule.committed(logFrames: CheckpointSchedule.inlineAt, passRunning: true)
        #expect(step9 == .checkpointInline)
    }
}

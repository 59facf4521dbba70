import CoreMetrics
import GRDB
import Logging
import ParleyCore

/// The embedded `MessageStore`: one SQLite file in WAL mode, written by one writer with group commit.
///
/// Appends from every connection are queued; the writer, a thread of its own, takes everything queued, stores it in
/// one transaction, hands the new messages to the hub and only then answers each caller, so one fsync covers many
/// messages. Offsets are the room's previous head plus one, assigned inside that transaction (the writer remembers
/// the heads it committed, ``CommittedHeads``); `(room, sender_id, client_id)` is unique in the schema, so a resent id
/// can never be stored twice.
package final class SQLiteMessageStore: MessageStore {
    private let pool: DatabasePool
    private let readers: SQLiteReaders
    private let writes = GroupCommitQueue()
    private let now: @Sendable () -> Int64
    private let onCommit: CommitHandler
    private let wakeUps: DeferredWakeUps
    private let checkpointer: SQLiteCheckpointer
    private let heads = CommittedHeads()
    private let metrics: ParleyMetrics
    private let health: StoreHealth
    private let logger: Logger
    /// Where the database lives.
    package let path: String
    /// The accounts, sessions and credential events kept in the same file.
    package let accounts: SQLiteAccountStore
    /// The rooms, memberships, roles and bans kept in the same file.
    package let rooms: SQLiteRoomStore

    /// How long a write waits for a lock another process holds before it fails (and its senders are told
    /// `internal`): Parley is the database's only regular writer, so a lock held longer is an operator's tool or a
    /// stuck process, and a send should not hang on it.
    static let busyTimeoutSeconds: Double = 1

    /// How long a lone send may wait for another to share its synced commit (``CommitGathering``): at a few hundred
    /// to a few thousand messages a second that is up to a quarter less CPU per delivery, for about a
    /// millisecond more latency; a quiet server, or a client sending one message after another, does not wait.
    static let commitGatherWindow = Duration.milliseconds(2)

    /// Opens (creating if needed) and migrates the database at `path`.
    /// - Parameters:
    ///   - path: The database file.
    ///   - metrics: Where commits are counted and timed.
    ///   - logger: Where failed commits are logged.
    ///   - now: The clock for timestamps, in milliseconds since the Unix epoch.
    ///   - wakeUps: Held while a commit's messages go to `onCommit` and its callers are answered, so each connection
    ///     thread is woken once per commit (the hub's).
    ///   - onCommit: Told of each batch of new messages, in commit order, before their senders are answered.
    /// - Throws: ``StoreError`` naming the file when it cannot be opened or migrated.
    package init(
        path: String,
        metrics: ParleyMetrics = .disabled,
        logger: Logger = Logger(label: "parley"),
        now: @escaping @Sendable () -> Int64 = SystemTime.millisecondsSinceEpoch,
        wakeUps: DeferredWakeUps = DeferredWakeUps(),
        onCommit: @escaping CommitHandler
    ) throws {
        let checkpointer = SQLiteCheckpointer(path: path, logger: logger)
        var configuration = Configuration()
        configuration.busyMode = .timeout(Self.busyTimeoutSeconds)
        configuration.prepareDatabase { db in
            // A deleted message's text must be gone from the file, not only unreferenced.
            try db.execute(sql: "PRAGMA secure_delete = ON")
            checkpointer.watch(db)
        }
        do {
            pool = try DatabasePool(path: path, configuration: configuration)
            // Every commit synced before its callers are answered, so an ack survives a power cut. Set here, not in
            // prepareDatabase: the pool turns WAL on after that and sets `synchronous = NORMAL` with it, which syncs
            // only at checkpoints.
            try pool.writeWithoutTransaction { try $0.execute(sql: "PRAGMA synchronous = FULL") }
            try Self.migrator.migrate(pool)
        } catch {
            throw StoreError.cannotOpen(path, cause: error)
        }
        self.path = path
        readers = SQLiteReaders(path: path, busyTimeoutSeconds: Self.busyTimeoutSeconds)
        self.accounts = SQLiteAccountStore(pool: pool, readers: readers, now: now)
        self.rooms = SQLiteRoomStore(pool: pool, readers: readers, now: now)
        self.metrics = metrics
        self.health = StoreHealth(database: path, metrics: metrics, logger: logger)
        self.logger = logger
        self.now = now
        self.onCommit = onCommit
        self.wakeUps = wakeUps
        self.checkpointer = checkpointer
    }

    /// The schema, one migration per version; GRDB records the applied ones in `grdb_migrations`.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: messages") { db in
            try db.execute(
                sql: """
                    CREATE TABLE messages (
                        room TEXT NOT NULL,
                        room_offset INTEGER NOT NULL CHECK (room_offset >= 1),
                        sender TEXT NOT NULL,
                        client_id TEXT NOT NULL,
                        text TEXT NOT NULL,
                        stored_at INTEGER NOT NULL,
                        PRIMARY KEY (room, room_offset),
                        UNIQUE (room, sender, client_id)
                    ) WITHOUT ROWID
                    """
            )
        }
        migrator.registerMigration("v2: health probe") { db in
            try db.execute(sql: "CREATE TABLE health_probe (id INTEGER PRIMARY KEY CHECK (id = 1), probed_at INTEGER NOT NULL)")
        }
        migrator.registerMigration("v3: sender ids") { db in
            // Until there were users, every sender was a guest: the same name was the same guest.
            try db.execute(
                sql: """
                    CREATE TABLE messages_v3 (
                        room TEXT NOT NULL,
                        room_offset INTEGER NOT NULL CHECK (room_offset >= 1),
                        sender_id TEXT NOT NULL,
                        sender TEXT NOT NULL,
                        client_id TEXT NOT NULL,
                        text TEXT NOT NULL,
                        stored_at INTEGER NOT NULL,
                        PRIMARY KEY (room, room_offset),
                        UNIQUE (room, sender_id, client_id)
                    ) WITHOUT ROWID;
                    INSERT INTO messages_v3
                        SELECT room, room_offset, 'guest:' || sender, sender, client_id, text, stored_at FROM messages;
                    DROP TABLE messages;
                    ALTER TABLE messages_v3 RENAME TO messages;
                    """
            )
        }
        SQLiteAccountStore.registerMigrations(in: &migrator)
        SQLiteRoomStore.registerMigrations(in: &migrator)
        SQLiteAccountStore.registerKeyMigrations(in: &migrator)
        return migrator
    }

    /// Runs the writer until graceful shutdown (or cancellation), then stores what is still queued, moves
    /// everything from the write-ahead log into the database file and closes it: after a clean stop the `.sqlite`
    /// file alone holds the whole history (copying it is a backup).
    package func run() async throws {
        await writes.runOnOwnThread(named: "parley-commit", gatherWindow: Self.commitGatherWindow) { batch in
            self.commit(batch)
        }
        await checkpointer.stop()
        do {
            try checkpoint()
        } catch {
            logger.error(
                "could not move the write-ahead log into the database file; keep the -wal file with it",
                metadata: ["database": "\(path)", "error": "\(error)"]
            )
        }
        try readers.close()
        try pool.close()
    }

    /// The writer connection's `PRAGMA synchronous`: 2 (FULL) when each commit is synced before it is answered.
    package func writerSynchronousLevel() throws -> Int {
        try pool.writeWithoutTransaction { try Int.fetchOne($0, sql: "PRAGMA synchronous") ?? -1 }
    }

    /// Moves the write-ahead log into the database file, synchronously: the writer may stop because its task was
    /// cancelled, and the checkpoint must run all the same.
    private func checkpoint() throws {
        try pool.writeWithoutTransaction { db in _ = try db.checkpoint(.truncate) }
    }

    package func append(_ drafts: [MessageDraft], then answer: @escaping AppendAnswer) {
        writes.append(drafts, closed: StoreError.closed(path), then: answer)
    }

    /// Stores a batch and answers its callers, on the writer's thread (GRDB runs a synchronous write on the calling
    /// thread).
    private func commit(_ batch: [GroupCommitQueue.PendingWrite]) {
        let drafts = batch.flatMap(\.drafts)
        let storedAt = now()
        let started = ContinuousClock.now
        do {
            let outcomes = try pool.writeWithoutTransaction { db in
                try Self.inImmediateTransaction(db) { try insert(drafts, storedAt: storedAt, in: db) }
            }
            metrics.commitDuration.recordNanoseconds((ContinuousClock.now - started).nanoseconds)
            metrics.commitBatchSize.record(drafts.count)
            let committed = outcomes.filter(\.isNew).map(\.message)
            heads.committed(committed)
            metrics.messagesStored.increment(by: committed.count)
            if committed.contains(where: { $0.target != nil }) { eraseFromWriteAheadLog() }
            health.writeSucceeded()
            wakeUps.holding {
                if !committed.isEmpty { onCommit(committed) }
                GroupCommitQueue.answer(batch, with: outcomes)
            }
            checkpointer.finishIfDue(in: pool)
        } catch {
            heads.forget()
            health.commitFailed("\(error)")
            GroupCommitQueue.fail(batch, with: error)
        }
    }

    /// Runs `body` in one write transaction. BEGIN and COMMIT are prepared once: GRDB's own transactions parse both on
    /// every commit (about a tenth of the CPU of a commit of one message).
    private static func inImmediateTransaction<T>(_ db: Database, _ body: () throws -> T) throws -> T {
        try db.cachedStatement(sql: "BEGIN IMMEDIATE TRANSACTION").execute()
        do {
            let result = try body()
            try db.cachedStatement(sql: "COMMIT TRANSACTION").execute()
            return result
        } catch {
            if db.isInsideTransaction { try? db.cachedStatement(sql: "ROLLBACK TRANSACTION").execute() }
            throw error
        }
    }

    private func insert(_ drafts: [MessageDraft], storedAt: Int64, in db: Database) throws -> [AppendOutcome] {
        let statements = try SQLiteMessageStatements(db)
        let (outcomes, new) = try OffsetAssignment.assign(
            drafts,
            storedAt: storedAt,
            head: { room in try heads.head(of: room) { try statements.head(of: room) } },
            stored: statements.stored,
            entry: statements.entry(in:at:)
        )
        for message in new {
            try statements.insert(message)
            if let target = message.target { try statements.erase(in: message.room, at: target) }
        }
        return outcomes
    }

    package func messages(in room: String, after offset: Int64, limit: Int) async throws -> [StoredMessage] {
        try readers.readOneStatement { db in try SQLiteMessageStatements.messages(in: room, after: offset, limit: limit, in: db) }
    }

    package func messages(in room: String, before offset: Int64?, limit: Int) async throws -> [StoredMessage] {
        try readers.readOneStatement { db in try SQLiteMessageStatements.messages(in: room, before: offset, limit: limit, in: db) }
    }

    package func head(of room: String) async throws -> Int64 {
        try readers.readOneStatement { db in try SQLiteMessageStatements.head(of: room, in: db) }
    }

    /// Both in one statement: messages are never removed, so the newest stored message's offset is the head.
    package func head(of room: String, withLatest limit: Int) async throws -> (head: Int64, latest: [StoredMessage]) {
        guard limit > 0 else { return (try await head(of: room), []) }
        let latest = try readers.readOneStatement { db in
            try SQLiteMessageStatements.messages(in: room, before: nil, limit: limit, in: db)
        }
        return (latest.last?.offset ?? 0, latest)
    }

    /// Reads; and while commits are failing, also writes (a row of its own), so readiness comes back once the
    /// database takes writes again even when nobody sends.
    package func checkReachable() async throws {
        try readers.read { db in try db.execute(sql: "SELECT 1 FROM messages LIMIT 1") }
        guard health.isFailing else { return }
        let now = self.now()
        try await pool.write { db in
            try db.execute(
                sql: "INSERT INTO health_probe (id, probed_at) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET probed_at = excluded.probed_at",
                arguments: [now]
            )
        }
        health.writeSucceeded()
    }

    /// Moves the write-ahead log into the database file and empties it, so that the text a deletion erased is gone
    /// from both files (secure_delete zeroes it in the page; the log still held the page as it was). Best effort:
    /// a reader holding the log keeps it until the next checkpoint.
    private func eraseFromWriteAheadLog() {
        do {
            try checkpoint()
        } catch {
            logger.warning(
                "could not checkpoint after a deletion; the erased text stays in the -wal file until the next one",
                metadata: ["error": "\(error)"]
            )
        }
    }
}

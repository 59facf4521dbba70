import CoreMetrics
import Logging
import ParleyCore
import PostgresNIO

/// The cluster `MessageStore`: history in PostgreSQL, shared by every node, written with group commit.
///
/// Each node's writer takes every queued append and stores it with one call of `parley_append`
/// (``PostgresAppendProcedure``), one round trip: in one transaction it locks the rooms' head rows (in name order,
/// so writers on different nodes never deadlock), skips ids already stored under the lock, numbers the new messages
/// from the heads, and sends them to every node with `pg_notify` — delivered only if the transaction commits, and in
/// commit order, which for one room is offset order. Senders are answered after the commit. Messages reach this
/// node's hub through ``PostgresClusterLink``, like everyone else's.
package final class PostgresMessageStore: MessageStore {
    /// The database, for messages and logs (no password).
    package let location: PostgresLocation
    let client: PostgresClient
    private let clientTask: Task<Void, Never>
    /// The accounts, sessions and credential events in the same database.
    package let accounts: PostgresAccountStore
    /// The rooms, memberships, roles and bans in the same database.
    package let rooms: PostgresRoomStore
    private let writes = GroupCommitQueue()
    private let metrics: ParleyMetrics
    private let logger: Logger
    private let health: StoreHealth
    private let now: @Sendable () -> Int64

    /// Connects to the database and brings its schema up to date.
    /// - Parameters:
    ///   - location: The database.
    ///   - metrics: Where commits are counted and timed.
    ///   - logger: Where problems are logged.
    ///   - now: The clock for timestamps, in milliseconds since the Unix epoch.
    /// - Throws: ``StoreError`` naming the database when it cannot be reached or migrated.
    package init(
        location: PostgresLocation,
        metrics: ParleyMetrics = .disabled,
        logger: Logger,
        now: @escaping @Sendable () -> Int64 = SystemTime.millisecondsSinceEpoch
    ) async throws {
        self.location = location
        self.metrics = metrics
        self.logger = logger
        self.health = StoreHealth(database: location.description, metrics: metrics, logger: logger)
        self.now = now
        try await Self.checkConnection(to: location, logger: logger)
        // The pool warns when it is used a moment before its task starts; that race is harmless here.
        var poolLogger = logger
        poolLogger.logLevel = max(logger.logLevel, .error)
        let client = PostgresClient(configuration: location.clientConfiguration, backgroundLogger: poolLogger)
        self.client = client
        self.accounts = PostgresAccountStore(client: client, location: location.description, logger: logger, now: now)
        self.rooms = PostgresRoomStore(client: client, location: location.description, logger: logger, now: now)
        // Not a child of the service group: the writer must still reach the database while it flushes at shutdown,
        // after the group's graceful shutdown began. `run()` cancels it last.
        self.clientTask = Task.detached { await client.run() }
        do {
            try await PostgresSchema.migrate(client, logger: logger)
            for warning in try await PostgresSchema.durabilityWarnings(client, logger: logger) {
                logger.warning("\(warning)", metadata: ["database": "\(location.description)"])
            }
        } catch {
            clientTask.cancel()
            throw StoreError.cannotOpen(location.description, cause: error, reason: PostgresErrorText.describe(error))
        }
    }

    /// One direct connection first: its error says what is wrong (refused, password, no such database), where the
    /// pool would only retry.
    private static func checkConnection(to location: PostgresLocation, logger: Logger) async throws {
        do {
            let connection = try await PostgresConnection.connect(
                configuration: try location.connectionConfiguration(),
                id: 0,
                logger: logger
            )
            try await connection.close()
        } catch {
            throw StoreError.cannotOpen(location.description, cause: error, reason: PostgresErrorText.describe(error))
        }
    }

    /// Runs the writer until graceful shutdown (or cancellation), stores what is still queued, then closes the
    /// connections.
    package func run() async throws {
        await writes.run { batch in await commit(batch) }
        clientTask.cancel()
        let pool = clientTask
        do {
            try await withDeadline(.seconds(5)) { await pool.value }
        } catch {
            logger.warning("the connection pool did not close within 5 s; leaving it to the end of the process")
        }
    }

    package func append(_ drafts: [MessageDraft], then answer: @escaping AppendAnswer) {
        writes.append(drafts, closed: StoreError.closed(location.description), then: answer)
    }

    private func commit(_ batch: [GroupCommitQueue.PendingWrite]) async {
        let drafts = batch.flatMap(\.drafts)
        let storedAt = now()
        let started = ContinuousClock.now
        do {
            let (logger, client) = (self.logger, self.client)
            // A commit whose outcome is unknown (deadline passed after COMMIT was sent) is safe to report as
            // failed: the client resends the same id and gets the original ack.
            let outcomes = try await withDeadline(Self.operationDeadline) {
                try await Self.insert(drafts, storedAt: storedAt, with: client, logger: logger)
            }
            metrics.commitDuration.recordNanoseconds((ContinuousClock.now - started).nanoseconds)
            metrics.commitBatchSize.record(drafts.count)
            metrics.messagesStored.increment(by: outcomes.filter(\.isNew).count)
            health.writeSucceeded()
            GroupCommitQueue.answer(batch, with: outcomes)
        } catch {
            let failure = StoreError.unavailable(location.description, cause: error, reason: PostgresErrorText.describe(error))
            health.commitFailed(failure.reason ?? "\(error)")
            GroupCommitQueue.fail(batch, with: failure)
        }
    }

    /// Commits `drafts` with one call of ``PostgresAppendProcedure``: one round trip, which returns only after
    /// the commit.
    private static func insert(
        _ drafts: [MessageDraft],
        storedAt: Int64,
        with client: PostgresClient,
        logger: Logger
    ) async throws -> [AppendOutcome] {
        let rows = try await client.query(
            """
            CALL parley_append(\(drafts.map(\.room)), \(drafts.map(\.senderID)), \(drafts.map(\.sender)),
                \(drafts.map(\.clientID)), \(drafts.map(\.text)), \(drafts.map { $0.target ?? 0 }), \(storedAt),
                \(ClusterNotification.channel), NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)
            """,
            logger: logger
        )
        var outcomes: [AppendOutcome] = []
        outcomes.reserveCapacity(drafts.count)
        for try await columns in rows.decode(OutcomeColumns.self) {
            let (rooms, offsets, senderIDs, senders, clientIDs, texts, storedAts, targets, deleted, new) = columns
            guard
                [
                    offsets.count, senderIDs.count, senders.count, clientIDs.count, texts.count, storedAts.count,
                    targets.count, deleted.count, new.count,
                ].allSatisfy({ $0 == rooms.count })
            else { throw AppendProcedureError.unexpectedAnswer(drafts: drafts.count, outcomes: rooms.count) }
            for index in rooms.indices {
                let message = StoredMessage(
                    room: rooms[index],
                    offset: offsets[index],
                    clientID: clientIDs[index],
                    senderID: senderIDs[index],
                    sender: senders[index],
                    text: texts[index],
                    storedAt: storedAts[index],
                    target: targets[index] == 0 ? nil : targets[index],
                    deleted: deleted[index]
                )
                outcomes.append(AppendOutcome(message: message, isNew: new[index]))
            }
        }
        guard outcomes.count == drafts.count else {
            throw AppendProcedureError.unexpectedAnswer(drafts: drafts.count, outcomes: outcomes.count)
        }
        return outcomes
    }

    /// `parley_append`'s answer: one array per field, one element per draft.
    private typealias OutcomeColumns = (
        [String], [Int64], [String], [String], [String], [String], [Int64], [Int64], [Bool], [Bool]
    )

    /// `parley_append` answered with a different number of outcomes than drafts: a database whose procedure is not
    /// this build's.
    enum AppendProcedureError: Error, CustomStringConvertible {
        case unexpectedAnswer(drafts: Int, outcomes: Int)

        var description: String {
            switch self {
            case .unexpectedAnswer(let drafts, let outcomes):
                "parley_append answered \(outcomes) outcomes for \(drafts) drafts"
            }
        }
    }

    package func messages(in room: String, after offset: Int64, limit: Int) async throws -> [StoredMessage] {
        try await fetch(
            """
            SELECT \(unescaped: Self.columns) FROM parley_messages WHERE room = \(room) AND room_offset > \(offset)
            ORDER BY room_offset LIMIT \(limit)
            """
        )
    }

    package func messages(in room: String, before offset: Int64?, limit: Int) async throws -> [StoredMessage] {
        try await fetch(
            """
            SELECT \(unescaped: Self.columns) FROM parley_messages WHERE room = \(room) AND room_offset < \(offset ?? .max)
            ORDER BY room_offset DESC LIMIT \(limit)
            """
        ).reversed()
    }

    package func head(of room: String) async throws -> Int64 {
        let client = self.client
        do {
            return try await withDeadline(Self.operationDeadline) {
                var head: Int64 = 0
                for try await value in try await client.query("SELECT head FROM parley_rooms WHERE room = \(room)").decode(Int64.self) {
                    head = value
                }
                return head
            }
        } catch {
            throw StoreError.unavailable(location.description, cause: error, reason: PostgresErrorText.describe(error))
        }
    }

    /// Reads; and while commits are failing, also writes (a transaction that takes an id commits a record to the
    /// write-ahead log), so readiness comes back once the database takes writes again even when nobody sends.
    package func checkReachable() async throws {
        let (client, writes) = (self.client, health.isFailing)
        do {
            try await withDeadline(Self.operationDeadline) {
                try await client.query(writes ? "SELECT txid_current()" : "SELECT 1").drain()
            }
            if writes { health.writeSucceeded() }
        } catch {
            throw StoreError.unavailable(location.description, cause: error, reason: PostgresErrorText.describe(error))
        }
    }

    private func fetch(_ query: PostgresQuery) async throws -> [StoredMessage] {
        let client = self.client
        do {
            return try await withDeadline(Self.operationDeadline) {
                var messages: [StoredMessage] = []
                for try await row in try await client.query(query).decode(MessageRow.self) {
                    messages.append(Self.message(from: row))
                }
                return messages
            }
        } catch {
            throw StoreError.unavailable(location.description, cause: error, reason: PostgresErrorText.describe(error))
        }
    }

    /// How long one database operation may take before the client gets an error instead of waiting on.
    static let operationDeadline: Duration = .seconds(10)

    private typealias MessageRow = (String, Int64, String, String, String, String, Int64, Int64?, Bool)
    private static let columns = "room, room_offset, sender_id, sender, client_id, text, stored_at, target, deleted"

    private static func message(from row: MessageRow) -> StoredMessage {
        StoredMessage(
            room: row.0,
            offset: row.1,
            clientID: row.4,
            senderID: row.2,
            sender: row.3,
            text: row.5,
            storedAt: row.6,
            target: row.7,
            deleted: row.8
        )
    }
}

extension PostgresRowSequence {
    /// Reads every row, so that errors surface.
    func drain() async throws {
        for try await _ in self {}
    }
}

/// Why the PostgreSQL store failed.
/// PostgresNIO's errors in words.
enum PostgresErrorText {
    /// What went wrong, in words: PostgresNIO's own description hides the server's message.
    static func describe(_ error: any Error) -> String {
        if let transaction = error as? PostgresTransactionError {
            if let inner = transaction.closureError ?? transaction.commitError ?? transaction.beginError {
                return describe(inner)
            }
        }
        if let error = error as? PSQLError {
            if let message = error.serverInfo?[.message] {
                return message + (error.serverInfo?[.sqlState].map { " (SQLSTATE \($0))" } ?? "")
            }
            if let underlying = error.underlying { return "\(error.code): \(underlying)" }
            return "\(error.code)"
        }
        return "\(error)"
    }
}

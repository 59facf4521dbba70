import GRDB
import ParleyCore
import Synchronization

/// Read-only connections to the database, each used by one thread at a time, and reads on the calling thread.
///
/// A read is CPU work on pages SQLite holds in memory, and in WAL mode it never waits for the writer. Awaiting GRDB's
/// asynchronous read instead hops to a queue that waits for a free reader, then to the reader's queue, then back —
/// three thread switches that cost more than the reads a join makes — and even `DatabasePool`'s synchronous read
/// spends more finding a free reader (a generic key path resolved on every call) than a join's point lookups take.
/// Here a reader is taken from a list under a lock; the list grows to the number of threads that ever read at once.
final class SQLiteReaders: Sendable {
    private let path: String
    private let configuration: Configuration
    private let idle = Mutex<(readers: [DatabaseQueue], closed: Bool)>(([], false))

    /// Readers of the database at `path`, opened as they are needed.
    init(path: String, busyTimeoutSeconds: Double) {
        self.path = path
        var configuration = Configuration()
        configuration.readonly = true
        configuration.busyMode = .timeout(busyTimeoutSeconds)
        self.configuration = configuration
    }

    /// Runs `value` in one read transaction: every statement sees the same snapshot. (BEGIN and COMMIT are prepared
    /// once per reader; GRDB's own transactions parse both each time.)
    func read<T>(_ value: (Database) throws -> T) throws -> T {
        try withReader { reader in
            try reader.inDatabase { db in
                try db.cachedStatement(sql: "BEGIN DEFERRED TRANSACTION").execute()
                do {
                    let result = try value(db)
                    try db.cachedStatement(sql: "COMMIT TRANSACTION").execute()
                    return result
                } catch {
                    try? db.cachedStatement(sql: "ROLLBACK TRANSACTION").execute()
                    throw error
                }
            }
        }
    }

    /// Runs one statement, without the BEGIN and COMMIT around it that ``read(_:)`` adds: a single statement sees one
    /// snapshot on its own.
    func readOneStatement<T>(_ value: (Database) throws -> T) throws -> T {
        try withReader { try $0.inDatabase(value) }
    }

    /// Closes the idle readers; reads after this throw.
    func close() throws {
        let readers = idle.withLock { idle in
            idle.closed = true
            defer { idle.readers = [] }
            return idle.readers
        }
        for reader in readers { try reader.close() }
    }

    private func withReader<T>(_ body: (DatabaseQueue) throws -> T) throws -> T {
        let (taken, closed) = idle.withLock { ($0.readers.popLast(), $0.closed) }
        guard !closed else { throw StoreError.closed(path) }
        let reader = try taken ?? DatabaseQueue(path: path, configuration: configuration)
        defer {
            let keep = idle.withLock { idle in
                if !idle.closed { idle.readers.append(reader) }
                return !idle.closed
            }
            if !keep { try? reader.close() }
        }
        return try body(reader)
    }
}

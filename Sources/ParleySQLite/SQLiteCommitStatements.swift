import GRDB
import GRDBSQLite
import ParleyCore

/// The statements a commit runs for each draft, bound and stepped through SQLite's C API on statements GRDB
/// prepared and keeps.
///
/// Through GRDB's rows and argument arrays, the two lookups and the insert of a commit of one message cost about as
/// much CPU as SQLite's own work on them (profile of the writer thread in docs/benchmarks.md). Values are bound and
/// read as GRDB does (text as NUL-terminated UTF-8, copied at bind time).
struct SQLiteCommitStatements {
    private let db: Database
    private let findHead: Statement
    private let findStored: Statement
    private let findEntry: Statement
    private let insertMessage: Statement
    private let eraseMessage: Statement

    /// The columns of ``StoredMessage``, in the order ``message(from:)`` reads them.
    static let columns = "room, room_offset, sender_id, sender, client_id, text, stored_at, target, deleted"
    private static let findHeadSQL = "SELECT COALESCE(MAX(room_offset), 0) FROM messages WHERE room = ?"
    private static let findStoredSQL = "SELECT \(columns) FROM messages WHERE room = ? AND sender_id = ? AND client_id = ?"
    private static let findEntrySQL = "SELECT \(columns) FROM messages WHERE room = ? AND room_offset = ?"
    private static let insertSQL = "INSERT INTO messages (\(columns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
    private static let eraseSQL = "UPDATE messages SET text = '', deleted = 1 WHERE room = ? AND room_offset = ?"

    /// The statements of `db`'s connection (GRDB prepares each once per connection and caches it by its text).
    init(_ db: Database) throws {
        self.db = db
        findHead = try db.cachedStatement(sql: Self.findHeadSQL)
        findStored = try db.cachedStatement(sql: Self.findStoredSQL)
        findEntry = try db.cachedStatement(sql: Self.findEntrySQL)
        insertMessage = try db.cachedStatement(sql: Self.insertSQL)
        eraseMessage = try db.cachedStatement(sql: Self.eraseSQL)
    }

    /// The offset of the room's newest entry, 0 for an empty room.
    func head(of room: String) throws -> Int64 {
        try step(findHead, binding: { try bindText($0, 1, room) }, row: { sqlite3_column_int64($0, 0) }) ?? 0
    }

    /// The entry stored under `key`, if any.
    func stored(_ key: MessageKey) throws -> StoredMessage? {
        try step(
            findStored,
            binding: {
                try bindText($0, 1, key.room)
                try bindText($0, 2, key.senderID)
                try bindText($0, 3, key.clientID)
            },
            row: Self.message(from:)
        )
    }

    /// The entry at `offset` of `room`, if any.
    func entry(in room: String, at offset: Int64) throws -> StoredMessage? {
        try step(
            findEntry,
            binding: {
                try bindText($0, 1, room)
                try check(sqlite3_bind_int64($0, 2, offset))
            },
            row: Self.message(from:)
        )
    }

    /// Inserts a new entry.
    func insert(_ message: StoredMessage) throws {
        try execute(insertMessage) {
            try bindText($0, 1, message.room)
            try check(sqlite3_bind_int64($0, 2, message.offset))
            try bindText($0, 3, message.senderID)
            try bindText($0, 4, message.sender)
            try bindText($0, 5, message.clientID)
            try bindText($0, 6, message.text)
            try check(sqlite3_bind_int64($0, 7, message.storedAt))
            if let target = message.target {
                try check(sqlite3_bind_int64($0, 8, target))
            } else {
                try check(sqlite3_bind_null($0, 8))
            }
            try check(sqlite3_bind_int64($0, 9, message.deleted ? 1 : 0))
        }
    }

    /// Erases the text of the message at `offset` of `room` and marks it deleted.
    func erase(in room: String, at offset: Int64) throws {
        try execute(eraseMessage) {
            try bindText($0, 1, room)
            try check(sqlite3_bind_int64($0, 2, offset))
        }
    }

    private func execute(_ statement: Statement, binding bind: (SQLiteStatement) throws -> Void) throws {
        _ = try step(statement, binding: bind, row: { _ in () })
    }

    /// Binds, steps once and reads the first row, if any; leaves the statement reset, with no bindings.
    private func step<Result>(
        _ statement: Statement,
        binding bind: (SQLiteStatement) throws -> Void,
        row read: (SQLiteStatement) -> Result
    ) throws -> Result? {
        let handle = statement.sqliteStatement
        defer {
            sqlite3_reset(handle)
            sqlite3_clear_bindings(handle)
        }
        do {
            try bind(handle)
            switch sqlite3_step(handle) {
            case SQLITE_ROW: return read(handle)
            case SQLITE_DONE: return nil
            default: throw SQLiteCallFailed()
            }
        } catch is SQLiteCallFailed {
            throw DatabaseError(
                resultCode: ResultCode(rawValue: sqlite3_extended_errcode(db.sqliteConnection)),
                message: String(cString: sqlite3_errmsg(db.sqliteConnection)),
                sql: statement.sql
            )
        }
    }

    /// The current row of a statement selecting ``columns``, as a message.
    private static func message(from handle: SQLiteStatement) -> StoredMessage {
        StoredMessage(
            room: text(handle, 0),
            offset: sqlite3_column_int64(handle, 1),
            clientID: text(handle, 4),
            senderID: text(handle, 2),
            sender: text(handle, 3),
            text: text(handle, 5),
            storedAt: sqlite3_column_int64(handle, 6),
            target: sqlite3_column_type(handle, 7) == SQLITE_NULL ? nil : sqlite3_column_int64(handle, 7),
            deleted: sqlite3_column_int64(handle, 8) != 0
        )
    }

    private static func text(_ handle: SQLiteStatement, _ column: CInt) -> String {
        sqlite3_column_text(handle, column).map { String(cString: $0) } ?? ""
    }
}

/// Binds `value` as GRDB binds a `String`: NUL-terminated UTF-8, copied by SQLite before the call returns.
private func bindText(_ handle: SQLiteStatement, _ index: CInt, _ value: String) throws {
    try check(sqlite3_bind_text(handle, index, value, -1, sqliteTransient))
}

/// Throws when a call of SQLite's C API did not return `SQLITE_OK`; the connection's error says why.
private func check(_ code: CInt) throws {
    guard code == SQLITE_OK else { throw SQLiteCallFailed() }
}

/// A call of SQLite's C API failed: thrown as GRDB's `DatabaseError`, with the connection's error message.
private struct SQLiteCallFailed: Error {}

/// SQLite's `SQLITE_TRANSIENT`.
private let sqliteTransient = unsafeBitCast(OpaquePointer(bitPattern: -1), to: sqlite3_destructor_type.self)

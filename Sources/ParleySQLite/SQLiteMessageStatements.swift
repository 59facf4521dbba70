import GRDB
import GRDBSQLite
import ParleyCore

/// The `messages` table's statements, bound and stepped through SQLite's C API on statements GRDB prepared and
/// keeps: the writer's per-draft lookups and inserts, and the readers' pages of history.
///
/// Through GRDB's rows and argument arrays, the two lookups and the insert of a commit of one message cost about as
/// much CPU as SQLite's own work on them (profile of the writer thread in docs/benchmarks.md). Values are bound and
/// read as GRDB does (text as NUL-terminated UTF-8, copied at bind time), and every row becomes a message in one place,
/// ``message(from:)``.
struct SQLiteMessageStatements {
    private let findHead: Statement
    private let findStored: Statement
    private let findEntry: Statement
    private let insertMessage: Statement
    private let eraseMessage: Statement

    /// The columns of ``StoredMessage``, in the order ``message(from:)`` reads them.
    private static let columns = "room, room_offset, sender_id, sender, client_id, text, stored_at, target, deleted"
    private static let findHeadSQL = "SELECT COALESCE(MAX(room_offset), 0) FROM messages WHERE room = ?"
    private static let findStoredSQL = "SELECT \(columns) FROM messages WHERE room = ? AND sender_id = ? AND client_id = ?"
    private static let findEntrySQL = "SELECT \(columns) FROM messages WHERE room = ? AND room_offset = ?"
    private static let insertSQL = "INSERT INTO messages (\(columns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
    private static let eraseSQL = "UPDATE messages SET text = '', deleted = 1 WHERE room = ? AND room_offset = ?"
    private static let afterSQL = "SELECT \(columns) FROM messages WHERE room = ? AND room_offset > ? ORDER BY room_offset LIMIT ?"
    private static let beforeSQL = "SELECT \(columns) FROM messages WHERE room = ? AND room_offset < ? ORDER BY room_offset DESC LIMIT ?"

    /// The writer's statements on `db`'s connection (GRDB prepares each once per connection and caches it by its text).
    init(_ db: Database) throws {
        findHead = try db.cachedStatement(sql: Self.findHeadSQL)
        findStored = try db.cachedStatement(sql: Self.findStoredSQL)
        findEntry = try db.cachedStatement(sql: Self.findEntrySQL)
        insertMessage = try db.cachedStatement(sql: Self.insertSQL)
        eraseMessage = try db.cachedStatement(sql: Self.eraseSQL)
    }

    /// The offset of the room's newest entry, 0 for an empty room.
    func head(of room: String) throws -> Int64 {
        try Self.head(of: room, with: findHead)
    }

    /// The entry stored under `key`, if any.
    func stored(_ key: MessageKey) throws -> StoredMessage? {
        try Self.firstRow(of: findStored, read: Self.message(from:)) {
            try bindText($0, 1, key.room)
            try bindText($0, 2, key.senderID)
            try bindText($0, 3, key.clientID)
        }
    }

    /// The entry at `offset` of `room`, if any.
    func entry(in room: String, at offset: Int64) throws -> StoredMessage? {
        try Self.firstRow(of: findEntry, read: Self.message(from:)) {
            try bindText($0, 1, room)
            try check(sqlite3_bind_int64($0, 2, offset))
        }
    }

    /// Inserts a new entry.
    func insert(_ message: StoredMessage) throws {
        try Self.execute(insertMessage) {
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
        try Self.execute(eraseMessage) {
            try bindText($0, 1, room)
            try check(sqlite3_bind_int64($0, 2, offset))
        }
    }

    /// The room's head, read on `db`'s connection.
    static func head(of room: String, in db: Database) throws -> Int64 {
        try head(of: room, with: db.cachedStatement(sql: findHeadSQL))
    }

    /// Up to `limit` entries of `room` after `offset`, oldest first, read on `db`'s connection.
    static func messages(in room: String, after offset: Int64, limit: Int, in db: Database) throws -> [StoredMessage] {
        try page(db.cachedStatement(sql: afterSQL), room: room, offset: offset, limit: limit)
    }

    /// Up to `limit` entries of `room` before `offset` (the newest ones when it is `nil`), oldest first, read on
    /// `db`'s connection.
    static func messages(in room: String, before offset: Int64?, limit: Int, in db: Database) throws -> [StoredMessage] {
        try page(db.cachedStatement(sql: beforeSQL), room: room, offset: offset ?? Int64.max, limit: limit).reversed()
    }

    private static func head(of room: String, with statement: Statement) throws -> Int64 {
        try firstRow(of: statement, read: firstColumn(of:)) { try bindText($0, 1, room) } ?? 0
    }

    private static func page(_ statement: Statement, room: String, offset: Int64, limit: Int) throws -> [StoredMessage] {
        try withBindings(of: statement) {
            try bindText($0, 1, room)
            try check(sqlite3_bind_int64($0, 2, offset))
            try check(sqlite3_bind_int64($0, 3, Int64(limit)))
        } run: { handle in
            var messages: [StoredMessage] = []
            while try nextRow(handle) { messages.append(message(from: handle)) }
            return messages
        }
    }

    /// Binds and runs a statement that returns no rows.
    private static func execute(_ statement: Statement, binding bind: (SQLiteStatement) throws -> Void) throws {
        _ = try withBindings(of: statement, bind) { try nextRow($0) }
    }

    /// Binds, steps once and reads the first row, if any.
    private static func firstRow<Result>(
        of statement: Statement,
        read: (SQLiteStatement) -> Result,
        binding bind: (SQLiteStatement) throws -> Void
    ) throws -> Result? {
        try withBindings(of: statement, bind) { try nextRow($0) ? read($0) : nil }
    }

    /// Binds `statement`'s parameters and runs `body` on it; leaves it reset, with no bindings. A failed call of
    /// SQLite's is thrown as GRDB's `DatabaseError`, with the connection's error message.
    private static func withBindings<Result>(
        of statement: Statement,
        _ bind: (SQLiteStatement) throws -> Void,
        run body: (SQLiteStatement) throws -> Result
    ) throws -> Result {
        let handle = statement.sqliteStatement
        defer {
            sqlite3_reset(handle)
            sqlite3_clear_bindings(handle)
        }
        do {
            try bind(handle)
            return try body(handle)
        } catch is SQLiteCallFailed {
            let connection = sqlite3_db_handle(handle)
            throw DatabaseError(
                resultCode: ResultCode(rawValue: sqlite3_extended_errcode(connection)),
                message: String(cString: sqlite3_errmsg(connection)),
                sql: statement.sql
            )
        }
    }

    /// Steps to the next row: `true` on a row, `false` when there are no more.
    private static func nextRow(_ handle: SQLiteStatement) throws -> Bool {
        switch sqlite3_step(handle) {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default: throw SQLiteCallFailed()
        }
    }

    /// The current row's first column, as an integer.
    private static func firstColumn(of handle: SQLiteStatement) -> Int64 {
        sqlite3_column_int64(handle, 0)
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

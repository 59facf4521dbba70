import Foundation
import GRDB

/// A consistent copy of a Parley SQLite database, made with SQLite's online backup API: safe while a server is
/// writing to the database (the copy is the database as of one moment, with whatever the write-ahead log held),
/// and a single self-contained file (no `-wal` beside it), ready to be opened by `parley serve --db`.
package enum SQLiteBackup {
    /// Copies the database at `source` into a new file at `destination`.
    /// - Returns: The number of messages in the copy.
    /// - Throws: `SQLiteBackupError` saying what to fix: no database at `source`, a file already at
    ///   `destination`, or the error SQLite reported.
    @discardableResult
    package static func copy(from source: String, to destination: String) throws -> Int {
        guard FileManager.default.fileExists(atPath: source) else { throw SQLiteBackupError.noDatabase(source) }
        guard !FileManager.default.fileExists(atPath: destination) else { throw SQLiteBackupError.destinationExists(destination) }
        do {
            var configuration = Configuration()
            configuration.readonly = true
            configuration.busyMode = .timeout(10)
            let from = try DatabaseQueue(path: source, configuration: configuration)
            let to = try DatabaseQueue(path: destination)
            try from.backup(to: to)
            try from.close()
            let messages = try to.writeWithoutTransaction { db in
                // The copy's header says WAL, like its source; as a file of its own it needs no log.
                try db.execute(sql: "PRAGMA journal_mode = DELETE")
                return try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM messages") ?? 0
            }
            try to.close()
            return messages
        } catch {
            try? FileManager.default.removeItem(atPath: destination)
            throw SQLiteBackupError.failed(source: source, reason: "\(error)")
        }
    }
}

/// Why a backup was not made.
package enum SQLiteBackupError: Error, CustomStringConvertible {
    case noDatabase(String)
    case destinationExists(String)
    case failed(source: String, reason: String)

    package var description: String {
        switch self {
        case .noDatabase(let path): "there is no database at \(path); name the server's --db file"
        case .destinationExists(let path): "\(path) already exists; name a new file (a backup never overwrites one)"
        case .failed(let source, let reason): "could not back up \(source): \(reason)"
        }
    }
}

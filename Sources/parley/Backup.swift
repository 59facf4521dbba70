import ArgumentParser
import Foundation
import ParleyPostgres
import ParleySQLite

/// `parley backup FILE`: a consistent copy of the SQLite database, safe while `parley serve` runs on it.
struct Backup: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Copy the SQLite database into a new file, safely while the server runs.",
        discussion: """
            Uses SQLite's online backup API: the copy is the database as of one moment, write-ahead log included, in \
            one self-contained file that `parley serve --db FILE` can open. Copying the .sqlite file alone while the \
            server runs (or after a crash) can miss what is still in its -wal file. For a PostgreSQL cluster use \
            pg_dump instead.
            """
    )

    @Option(help: "The database to copy: the server's --db. (PARLEY_DB; default parley.sqlite)")
    var db: String?

    @Argument(help: "The new file to write; it must not exist.")
    var file: String

    func run() throws {
        let source = db ?? ProcessInfo.processInfo.environment["PARLEY_DB"] ?? "parley.sqlite"
        guard !PostgresLocation.isPostgresURL(source) else {
            throw ValidationError("--db is a PostgreSQL database; back it up with pg_dump")
        }
        do {
            let messages = try SQLiteBackup.copy(from: source, to: file)
            print("backed up \(source) to \(file) (\(messages) messages)")
        } catch let error as SQLiteBackupError {
            FileHandle.standardError.write(Data("parley: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }
}

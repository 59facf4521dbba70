import GRDB

extension DatabasePool {
    /// Reads on the calling thread, in one transaction. A read is CPU work on pages SQLite holds in memory, and in WAL
    /// mode it never waits for the writer; awaiting GRDB's asynchronous read instead hops to a queue that waits for a
    /// free reader, then to the reader's queue, then back — three thread switches that cost more than the reads a join
    /// makes.
    func readHere<T>(_ value: (Database) throws -> T) throws -> T {
        try read(value)
    }

    /// Runs one statement on the calling thread, without the BEGIN and COMMIT around it that ``readHere(_:)`` adds
    /// (SQLite parses both each time): a single statement sees one snapshot of the database on its own.
    func readOneStatement<T>(_ value: (Database) throws -> T) throws -> T {
        try unsafeRead(value)
    }
}

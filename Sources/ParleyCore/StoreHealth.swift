import CoreMetrics
import Logging
import Synchronization

/// Whether a store's commits are failing (the disk is full, another process holds the database's lock, the
/// database server refuses writes), so that `/readyz` turns 503 while they fail even when reads still work; each
/// failure is counted and logged with the database's name (a few lines a minute at most).
package final class StoreHealth: Sendable {
    private let database: String
    private let metrics: ParleyMetrics
    private let logger: Logger
    private let log: LogThrottle
    private let failing = Atomic<Bool>(false)

    /// - Parameters:
    ///   - database: The database as log lines name it (a file path, a PostgreSQL location without password).
    ///   - metrics: Where failures are counted (`parley_store_commit_failures_total`).
    ///   - logger: Where failures, and the recovery after them, are logged.
    package init(database: String, metrics: ParleyMetrics, logger: Logger) {
        self.database = database
        self.metrics = metrics
        self.logger = logger
        log = LogThrottle(logger: logger)
    }

    /// Whether the latest commit (or write probe) failed.
    package var isFailing: Bool { failing.load(ordering: .relaxed) }

    /// Records a commit (or write probe) that went through.
    package func writeSucceeded() {
        if failing.exchange(false, ordering: .relaxed) {
            logger.notice("storing messages works again", metadata: ["database": "\(database)"])
        }
    }

    /// Records a commit that failed: its messages were not stored and their senders are told `internal`.
    /// - Parameter reason: What the database said.
    package func commitFailed(_ reason: String) {
        metrics.commitFailures.increment()
        failing.store(true, ordering: .relaxed)
        log.error("storing messages failed", metadata: ["database": "\(database)", "error": "\(reason)"])
    }
}

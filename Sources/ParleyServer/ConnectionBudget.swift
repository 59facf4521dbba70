import HummingbirdCore
import Logging
import ParleyCore

/// The most TCP connections the server holds at once, below the process's open file limit: when it is reached the
/// server stops accepting (new connections wait in the kernel's backlog) and logs an error, instead of running into
/// the descriptor limit, where every accept fails at once and, with SwiftNIO's level-triggered listening socket,
/// is retried in a loop that takes a whole core while nobody is served.
struct ConnectionBudget: AvailableConnectionsDelegate {
    /// Descriptors kept back from connections, for the database's files and connections, logs and the like.
    static func reserve(forOpenFileLimit limit: Int) -> Int { min(128, limit / 4) }

    /// The budget for a process whose open file limit is `limit`.
    static func maxConnections(forOpenFileLimit limit: Int) -> Int { max(1, limit - reserve(forOpenFileLimit: limit)) }

    let maxConnections: Int
    let log: LogThrottle
    private var open = 0

    init(maxConnections: Int, log: LogThrottle) {
        self.maxConnections = maxConnections
        self.log = log
    }

    mutating func connectionOpened() {
        open += 1
    }

    mutating func connectionClosed() {
        open -= 1
    }

    func isAcceptingNewConnections() -> Bool {
        guard open < maxConnections else {
            log.error(
                "connection limit reached: new connections wait until some close",
                metadata: ["open": "\(open)", "limit": "\(maxConnections)"]
            )
            return false
        }
        return true
    }
}

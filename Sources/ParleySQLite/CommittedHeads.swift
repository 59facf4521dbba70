import ParleyCore
import Synchronization

/// The committed head of each room the writer has seen lately, so that a send does not look it up in the database.
///
/// Only the writer adds entries to the log, so a room's head moves only by its commits: the cache is told each
/// commit's new entries once the commit has succeeded, and forgets everything when one fails (what reached the disk
/// is then not known). It holds at most ``capacity`` rooms and starts over when full.
package final class CommittedHeads: Sendable {
    /// The most rooms kept before the cache starts over.
    package let capacity: Int
    private let heads = Mutex<[String: Int64]>([:])

    /// - Parameter capacity: The most rooms kept (the default, a few megabytes of names).
    package init(capacity: Int = 100_000) {
        self.capacity = capacity
    }

    /// The room's head from the cache, or from `lookUp` (the database's committed head), which is then kept.
    package func head(of room: String, orLookUp lookUp: () throws -> Int64) rethrows -> Int64 {
        if let head = heads.withLock({ $0[room] }) { return head }
        let head = try lookUp()
        heads.withLock { heads in
            if heads.count >= capacity { heads.removeAll(keepingCapacity: true) }
            heads[room] = head
        }
        return head
    }

    /// A commit of `entries` (in offset order within each room) succeeded.
    package func committed(_ entries: [StoredMessage]) {
        guard !entries.isEmpty else { return }
        heads.withLock { heads in
            if heads.count + entries.count > capacity { heads.removeAll(keepingCapacity: true) }
            for entry in entries { heads[entry.room] = entry.offset }
        }
    }

    /// A commit failed: every head is looked up again.
    package func forget() {
        heads.withLock { $0.removeAll() }
    }
}

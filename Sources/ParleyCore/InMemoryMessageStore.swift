import ServiceLifecycle
import Synchronization

/// A `MessageStore` that keeps history in memory: for tests and for trying Parley without a file.
public final class InMemoryMessageStore: MessageStore {
    private struct History {
        var rooms: [String: [StoredMessage]] = [:]
        var stored: [MessageKey: StoredMessage] = [:]
    }

    /// Held through a whole append, the hub's delivery included, so messages reach the hub in offset order.
    private let history = Mutex(History())
    private let now: @Sendable () -> Int64
    private let onCommit: CommitHandler

    /// Creates an empty store.
    /// - Parameters:
    ///   - now: The clock, in milliseconds since the Unix epoch.
    ///   - onCommit: Told of each batch of new messages, in commit order.
    public init(now: @escaping @Sendable () -> Int64 = SystemTime.millisecondsSinceEpoch, onCommit: @escaping CommitHandler) {
        self.now = now
        self.onCommit = onCommit
    }

    public func run() async throws {
        try await gracefulShutdown()
    }

    /// Stores the drafts and answers at once, on the caller's thread.
    public func append(_ drafts: [MessageDraft], then answer: @escaping AppendAnswer) {
        let outcomes = history.withLock { history in
            let (outcomes, new) = OffsetAssignment.assign(
                drafts,
                storedAt: now(),
                head: { Int64(history.rooms[$0]?.count ?? 0) },
                stored: { history.stored[$0] },
                entry: { room, offset in
                    guard let entries = history.rooms[room], offset >= 1, offset <= entries.count else { return nil }
                    return entries[Int(offset - 1)]
                }
            )
            for message in new {
                history.rooms[message.room, default: []].append(message)
                history.stored[message.key] = message
                if let target = message.target { Self.erase(target, in: message.room, from: &history) }
            }
            if !new.isEmpty { onCommit(new) }
            return outcomes
        }
        answer(.success(outcomes))
    }

    public func messages(in room: String, after offset: Int64, limit: Int) async throws -> [StoredMessage] {
        let all = history.withLock { $0.rooms[room] ?? [] }
        let start = Int(min(max(offset, 0), Int64(all.count)))
        return Array(all[start..<min(start + limit, all.count)])
    }

    public func messages(in room: String, before offset: Int64?, limit: Int) async throws -> [StoredMessage] {
        let all = history.withLock { $0.rooms[room] ?? [] }
        let end = Int(min(max((offset ?? Int64.max) - 1, 0), Int64(all.count)))
        return Array(all[max(end - limit, 0)..<end])
    }

    public func head(of room: String) async throws -> Int64 {
        history.withLock { Int64($0.rooms[room]?.count ?? 0) }
    }

    public func checkReachable() async throws {}

    /// Erases a deleted message's text, wherever this store keeps it.
    private static func erase(_ offset: Int64, in room: String, from history: inout History) {
        var message = history.rooms[room]![Int(offset - 1)]
        message.text = ""
        message.deleted = true
        history.rooms[room]![Int(offset - 1)] = message
        history.stored[message.key] = message
    }
}

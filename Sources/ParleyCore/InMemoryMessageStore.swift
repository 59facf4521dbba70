import ServiceLifecycle

/// A `MessageStore` that keeps history in memory: for tests and for trying Parley without a file.
public actor InMemoryMessageStore: MessageStore {
    private struct DedupeKey: Hashable {
        var room: String
        var senderID: String
        var clientID: String
    }

    private var rooms: [String: [StoredMessage]] = [:]
    private var stored: [DedupeKey: StoredMessage] = [:]
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

    public func append(_ drafts: [MessageDraft]) async throws -> [AppendOutcome] {
        var outcomes: [AppendOutcome] = []
        var committed: [StoredMessage] = []
        for draft in drafts {
            let key = DedupeKey(room: draft.room, senderID: draft.senderID, clientID: draft.clientID)
            if let existing = stored[key] {
                outcomes.append(AppendOutcome(message: existing, isNew: false))
                continue
            }
            let offset = Int64(rooms[draft.room]?.count ?? 0) + 1
            let message = draft.stored(at: offset, storedAt: now())
            rooms[draft.room, default: []].append(message)
            stored[key] = message
            committed.append(message)
            outcomes.append(AppendOutcome(message: message, isNew: true))
        }
        if !committed.isEmpty { onCommit(committed) }
        return outcomes
    }

    public func messages(in room: String, after offset: Int64, limit: Int) async throws -> [StoredMessage] {
        let all = rooms[room] ?? []
        let start = Int(min(max(offset, 0), Int64(all.count)))
        return Array(all[start..<min(start + limit, all.count)])
    }

    public func messages(in room: String, before offset: Int64?, limit: Int) async throws -> [StoredMessage] {
        let all = rooms[room] ?? []
        let end = Int(min(max((offset ?? Int64.max) - 1, 0), Int64(all.count)))
        return Array(all[max(end - limit, 0)..<end])
    }

    public func head(of room: String) async throws -> Int64 {
        Int64(rooms[room]?.count ?? 0)
    }

    public func checkReachable() async throws {}
}

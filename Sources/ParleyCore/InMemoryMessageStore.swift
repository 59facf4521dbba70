import ServiceLifecycle

/// A `MessageStore` that keeps history in memory: for tests and for trying Parley without a file.
public actor InMemoryMessageStore: MessageStore {
    private var rooms: [String: [StoredMessage]] = [:]
    private var stored: [MessageKey: StoredMessage] = [:]
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
        let (outcomes, new) = OffsetAssignment.assign(
            drafts,
            storedAt: now(),
            head: { Int64(rooms[$0]?.count ?? 0) },
            stored: { stored[$0] },
            entry: { room, offset in
                guard let entries = rooms[room], offset >= 1, offset <= entries.count else { return nil }
                return entries[Int(offset - 1)]
            }
        )
        for message in new {
            rooms[message.room, default: []].append(message)
            stored[message.key] = message
            if let target = message.target { erase(target, in: message.room) }
        }
        if !new.isEmpty { onCommit(new) }
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

    /// Erases a deleted message's text, wherever this store keeps it.
    private func erase(_ offset: Int64, in room: String) {
        var message = rooms[room]![Int(offset - 1)]
        message.text = ""
        message.deleted = true
        rooms[room]![Int(offset - 1)] = message
        stored[message.key] = message
    }
}

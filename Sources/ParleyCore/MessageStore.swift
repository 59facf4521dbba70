import ServiceLifecycle

/// Durable, ordered history: appends assign per-room offsets, resends are deduplicated.
///
/// A store is a `Service`: `run()` keeps it open until graceful shutdown, then flushes and closes it. Every
/// implementation reports newly committed messages, in commit order, to the `CommitHandler` it was created with;
/// that is how the hub learns what to fan out.
public protocol MessageStore: Service {
    /// Appends drafts in order, in as few transactions as the store can share with other callers.
    ///
    /// Returns only after the messages are durably stored; a draft whose (room, sender, client id) is already stored
    /// returns the stored message with `isNew == false` and stores nothing.
    /// - Parameter drafts: The messages to store, in the order their offsets must follow.
    /// - Returns: One outcome per draft, in the same order.
    func append(_ drafts: [MessageDraft]) async throws -> [AppendOutcome]

    /// Messages of `room` with offsets above `offset`, oldest first.
    /// - Parameters:
    ///   - room: The room.
    ///   - offset: Only messages after it are returned.
    ///   - limit: The most messages to return.
    func messages(in room: String, after offset: Int64, limit: Int) async throws -> [StoredMessage]

    /// The newest messages of `room` below `offset` (or the newest of all), oldest first.
    /// - Parameters:
    ///   - room: The room.
    ///   - offset: Only messages before it are returned; `nil` for the newest.
    ///   - limit: The most messages to return.
    func messages(in room: String, before offset: Int64?, limit: Int) async throws -> [StoredMessage]

    /// The offset of the newest message of `room`, 0 for an empty room.
    func head(of room: String) async throws -> Int64

    /// The offset of the newest message of `room` and the newest messages up to it (at most `limit`, oldest first):
    /// what a join without `since` shows, read together.
    func head(of room: String, withLatest limit: Int) async throws -> (head: Int64, latest: [StoredMessage])

    /// Throws when the store cannot be reached (for `/readyz`).
    func checkReachable() async throws
}

extension MessageStore {
    /// Reads the head, then the messages up to it.
    public func head(of room: String, withLatest limit: Int) async throws -> (head: Int64, latest: [StoredMessage]) {
        let head = try await head(of: room)
        return (head, try await messages(in: room, before: head + 1, limit: limit))
    }
}

/// Called by a store with each batch of newly committed messages, in commit order.
public typealias CommitHandler = @Sendable ([StoredMessage]) -> Void

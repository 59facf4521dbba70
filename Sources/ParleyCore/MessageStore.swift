import ServiceLifecycle

/// Durable, ordered history: appends assign per-room offsets, resends are deduplicated.
///
/// A store is a `Service`: `run()` keeps it open until graceful shutdown, then flushes and closes it. Every
/// implementation reports newly committed messages, in commit order, to the `CommitHandler` it was created with;
/// that is how the hub learns what to fan out.
public protocol MessageStore: Service {
    /// Queues drafts to be appended in order, in as few transactions as the store can share with other callers, and
    /// calls `answer` once they are durably stored (or could not be).
    ///
    /// A draft whose (room, sender, client id) is already stored is answered with the stored message and
    /// `isNew == false`, and stores nothing. Drafts queued one call after another are stored in that order, so a
    /// caller need not wait for one answer before queuing more. `answer` runs on the store's writer: it must not
    /// block.
    /// - Parameters:
    ///   - drafts: The messages to store, in the order their offsets must follow.
    ///   - answer: Told one outcome per draft, in the same order, or why nothing was stored.
    func append(_ drafts: [MessageDraft], then answer: @escaping AppendAnswer)

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
    /// Appends drafts in order and returns once they are durably stored: one outcome per draft, in the same order.
    public func append(_ drafts: [MessageDraft]) async throws -> [AppendOutcome] {
        try await withCheckedThrowingContinuation { continuation in
            append(drafts) { continuation.resume(with: $0) }
        }
    }

    /// Reads the head, then the messages up to it.
    public func head(of room: String, withLatest limit: Int) async throws -> (head: Int64, latest: [StoredMessage]) {
        let head = try await head(of: room)
        return (head, try await messages(in: room, before: head + 1, limit: limit))
    }
}

/// Called by a store with each batch of newly committed messages, in commit order.
public typealias CommitHandler = @Sendable ([StoredMessage]) -> Void

/// Told by a store how an append ended: one outcome per draft, in order, or why nothing was stored.
public typealias AppendAnswer = @Sendable (Result<[AppendOutcome], any Error>) -> Void

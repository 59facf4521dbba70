/// Runs `operation`, cancelling it and throwing ``DeadlineExceeded`` if it takes longer than `limit`.
///
/// The connection pool waits for a connection as long as the database is unreachable; database work done for a
/// client (or at shutdown) must end instead, with an error the client can act on.
func withDeadline<Result: Sendable>(
    _ limit: Duration,
    _ operation: @escaping @Sendable () async throws -> Result
) async throws -> Result {
    try await withThrowingTaskGroup(of: Result.self) { group in
        group.addTask { try await operation() }
        group.addTask {
            try await Task.sleep(for: limit)
            throw DeadlineExceeded(limit: limit)
        }
        defer { group.cancelAll() }
        return try await group.next()!
    }
}

/// The database did not answer in time.
struct DeadlineExceeded: Error, CustomStringConvertible {
    let limit: Duration

    var description: String { "no answer from the database within \(limit)" }
}

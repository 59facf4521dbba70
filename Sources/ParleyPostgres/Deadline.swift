import Synchronization

/// Runs `operation`, throwing ``DeadlineExceeded`` if it takes longer than `limit`.
///
/// The connection pool waits for a connection as long as the database is unreachable; database work done for a
/// client (or at shutdown) must end instead, with an error the client can act on. The operation runs in a task
/// of its own and the caller stops waiting for it at the limit, or when the caller is cancelled: PostgresNIO
/// 1.33.2 never answers a query written to a connection that closed as it was leased, so an operation that
/// outlives its cancellation must not hold its caller. Such an operation is cancelled and left to end alone.
func withDeadline<Result: Sendable>(
    _ limit: Duration,
    _ operation: @escaping @Sendable () async throws -> Result
) async throws -> Result {
    let outcome = FirstOutcome<Result>()
    let work = Task { await outcome.resolve(catching: operation) }
    let timer = Task {
        try await Task.sleep(for: limit)
        outcome.resolve(.failure(DeadlineExceeded(limit: limit)))
    }
    defer {
        work.cancel()
        timer.cancel()
    }
    return try await outcome.value()
}

/// Runs `operation` until it ends or the caller is cancelled, whichever comes first; see ``withDeadline(_:_:)``
/// for why the caller does not wait for a cancelled operation to notice.
/// - Parameter operation: Gets the outcome, to end the wait early with an answer found along the way.
func abandoningOnCancellation<Result: Sendable>(
    _ operation: @escaping @Sendable (FirstOutcome<Result>) async throws -> Result
) async throws -> Result {
    let outcome = FirstOutcome<Result>()
    let work = Task { await outcome.resolve(catching: { try await operation(outcome) }) }
    defer { work.cancel() }
    return try await outcome.value()
}

/// The database did not answer in time.
struct DeadlineExceeded: Error, CustomStringConvertible {
    let limit: Duration

    var description: String { "no answer from the database within \(limit)" }
}

/// The first of several answers racing for one waiter (the operation, a timer, the waiter's cancellation); later
/// ones are dropped.
final class FirstOutcome<Value: Sendable>: Sendable {
    private enum State {
        case pending(CheckedContinuation<Value, any Error>?)
        case resolved(Result<Value, any Error>)
        case delivered
    }

    private let state = Mutex(State.pending(nil))

    /// Answers the waiter unless an answer came first.
    func resolve(_ result: Result<Value, any Error>) {
        let waiter: CheckedContinuation<Value, any Error>? = state.withLock { state in
            guard case .pending(let waiter) = state else { return nil }
            if let waiter {
                state = .delivered
                return waiter
            }
            state = .resolved(result)
            return nil
        }
        waiter?.resume(with: result)
    }

    /// Answers the waiter with what `operation` returns or throws, unless an answer came first.
    func resolve(catching operation: () async throws -> Value) async {
        do {
            resolve(.success(try await operation()))
        } catch {
            resolve(.failure(error))
        }
    }

    /// Waits for the first answer; cancelling the waiter answers `CancellationError`.
    func value() async throws -> Value {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                let early: Result<Value, any Error>? = state.withLock { state in
                    switch state {
                    case .pending:
                        state = .pending(continuation)
                        return nil
                    case .resolved(let result):
                        state = .delivered
                        return result
                    case .delivered:
                        preconditionFailure("one outcome has one waiter")
                    }
                }
                if let early { continuation.resume(with: early) }
            }
        } onCancel: {
            resolve(.failure(CancellationError()))
        }
    }
}
